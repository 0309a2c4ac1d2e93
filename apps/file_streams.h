// Stream plumbing for the gzip-like commands: an ostream whose bytes land in an AtomicFile (the final
// name appears only when everything is written and synced), an ostream that discards (--verify), an
// istream that replays bytes already read before the rest of another (an archive's header, read to pick
// its model), and the removal of a temporary output when lmc is interrupted.
#pragma once

#include <csignal>
#include <filesystem>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
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

// The whole of the file at `path`, or of standard input for "-"; throws naming the file if it is a
// directory or cannot be read.
std::string read_whole_input(const std::string& path);

// `head`, then whatever `rest` still holds.
class PrefixedBuffer : public std::streambuf {
 public:
  PrefixedBuffer(std::string head, std::streambuf* rest);

 protected:
  int_type underflow() override;
  std::streamsize xsgetn(char* s, std::streamsize n) override;

 private:
  std::string head_;
  std::streambuf* rest_;
  char byte_ = 0;  // the one byte underflow() took from `rest` for a peek
};

// Until disarm(), SIGINT, SIGTERM and SIGHUP remove `temp` (an output being written) before lmc dies of
// them as it otherwise would, so an interrupted run leaves no partial file; a signal lmc was started
// ignoring (nohup, a script's background job) stays ignored. Destroyed armed (an error unwinding), it
// removes `temp` itself before the handlers go. A signal handler can only reach `temp` through
// process-wide state: one at a time, which the gzip-like commands need.
class RemoveOnSignal {
 public:
  explicit RemoveOnSignal(const std::filesystem::path& temp);
  ~RemoveOnSignal();
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;
  // The output is in place: nothing to remove any more.
  void disarm();

 private:
  std::string temp_;
  struct sigaction previous_[3];
  bool installed_[3] = {};
  bool armed_ = true;
};

}  // namespace lmc::apps
