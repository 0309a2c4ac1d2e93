#include "apps/file_streams.h"

namespace lmc::apps {

AtomicFileBuffer::AtomicFileBuffer(AtomicFile& file) : file_(file), buffer_(1 << 20) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

AtomicFileBuffer::~AtomicFileBuffer() { flush_buffer(); }

bool AtomicFileBuffer::flush_buffer() {
  const size_t pending = static_cast<size_t>(pptr() - pbase());
  if (pending == 0) return true;
  try {
    file_.write_at(offset_, pbase(), pending);
  } catch (...) {
    return false;  // the stream turns bad; the caller reports the failure
  }
  offset_ += pending;
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return true;
}

AtomicFileBuffer::int_type AtomicFileBuffer::overflow(int_type c) {
  if (!flush_buffer()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int AtomicFileBuffer::sync() { return flush_buffer() ? 0 : -1; }

}  // namespace lmc::apps
