#include "apps/file_streams.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/error.h"

namespace lmc::apps {
namespace {

constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
std::atomic<const char*> pending_temp{nullptr};

void remove_pending_temp(int signal) {
  if (const char* temp = pending_temp.exchange(nullptr)) ::unlink(temp);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

std::string read_whole_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  if (std::filesystem::is_directory(path)) throw Error("'" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error("cannot read '" + path + "'");
  return buffer.str();
}

PrefixedBuffer::PrefixedBuffer(std::string head, std::streambuf* rest) : head_(std::move(head)), rest_(rest) {
  setg(head_.data(), head_.data(), head_.data() + head_.size());
}

PrefixedBuffer::int_type PrefixedBuffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  const int_type c = rest_->sbumpc();
  if (traits_type::eq_int_type(c, traits_type::eof())) return c;
  byte_ = traits_type::to_char_type(c);
  setg(&byte_, &byte_, &byte_ + 1);
  return c;
}

std::streamsize PrefixedBuffer::xsgetn(char* s, std::streamsize n) {
  const std::streamsize buffered = std::min<std::streamsize>(n, egptr() - gptr());
  std::copy(gptr(), gptr() + buffered, s);
  gbump(static_cast<int>(buffered));
  return buffered + (buffered < n ? rest_->sgetn(s + buffered, n - buffered) : 0);
}

RemoveOnSignal::RemoveOnSignal(const std::filesystem::path& temp) : temp_(temp.string()) {
  const char* none = nullptr;
  if (!pending_temp.compare_exchange_strong(none, temp_.c_str())) {
    throw Error("another output is already being written");
  }
  struct sigaction action {};
  action.sa_handler = remove_pending_temp;
  sigfillset(&action.sa_mask);  // a second signal waits until the first has removed the file
  for (int i = 0; i < 3; ++i) {
    struct sigaction current {};
    if (sigaction(kSignals[i], nullptr, &current) != 0 || current.sa_handler == SIG_IGN) continue;
    installed_[i] = sigaction(kSignals[i], &action, &previous_[i]) == 0;
  }
}

void RemoveOnSignal::disarm() {
  pending_temp.store(nullptr);
  armed_ = false;
}

RemoveOnSignal::~RemoveOnSignal() {
  if (armed_ && pending_temp.exchange(nullptr) != nullptr) ::unlink(temp_.c_str());
  for (int i = 0; i < 3; ++i) {
    if (installed_[i]) sigaction(kSignals[i], &previous_[i], nullptr);
  }
}

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
