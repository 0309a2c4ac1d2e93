// Output plumbing for the gzip-like commands: an ostream whose bytes land in an AtomicFile (the final
// name appears only when everything is written and synced), and an ostream that discards (--verify).
#pragma once

#include <ostream>
#include <streambuf>
#include <vector>

#include "checkpoints/atomic_file.h"

namespace lmc::apps {

class AtomicFileBuffer : public std::streambuf {
 public:
  explicit AtomicFileBuffer(AtomicFile& file);
  ~AtomicFileBuffer() override;

 protected:
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  bool flush_buffer();

  AtomicFile& file_;
  uint64_t offset_ = 0;  // bytes already handed to the file
  std::vector<char> buffer_;
};

class DiscardBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace lmc::apps
