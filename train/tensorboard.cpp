#include "train/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>

#include "common/error.h"

namespace lmc::train {
namespace {

constexpr uint32_t kCrc32cPolynomial = 0x82f63b78;  // reflected Castagnoli polynomial
constexpr uint32_t kCrcMaskDelta = 0xa282ead8;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc32cPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}

// Protobuf wire format: varints, and fields as (number << 3 | wire type).
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, int field, int wire_type) { put_varint(out, static_cast<uint64_t>(field << 3 | wire_type)); }

template <typename T>
void put_fixed(std::string& out, T value) {  // little-endian host assumed, as everywhere in lmc
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event{double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5}
std::string event_header(int64_t step) {
  std::string event;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  put_tag(event, 1, 1);
  put_fixed(event, now);
  put_tag(event, 2, 0);
  put_varint(event, static_cast<uint64_t>(step));
  return event;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t c = crc32c(bytes);
  return ((c >> 15) | (c << 17)) + kCrcMaskDelta;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  // A resumed run in the same second must not append to the killed run's file.
  for (int n = 0;; ++n) {
    std::string name = "events.out.tfevents." + std::to_string(seconds) + "." + host_name();
    if (n > 0) name.append(".").append(std::to_string(n));
    path_ = dir / name;
    if (!std::filesystem::exists(path_)) break;
  }
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) throw Error("cannot create TensorBoard file " + path_.string() + ": " + std::strerror(errno));
  std::string event = event_header(0);
  put_bytes_field(event, 3, "brain.Event:2");
  write_record(event);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  std::string summary;  // Summary{repeated Value value = 1}
  for (const auto& [tag, value] : scalars) {
    std::string v;  // Value{string tag = 1; float simple_value = 2}
    put_bytes_field(v, 1, tag);
    put_tag(v, 2, 5);
    put_fixed(v, static_cast<float>(value));
    put_bytes_field(summary, 1, v);
  }
  std::string event = event_header(step);
  put_bytes_field(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string record;
  put_fixed(record, static_cast<uint64_t>(data.size()));
  const uint32_t length_crc = masked_crc32c(record);
  put_fixed(record, length_crc);
  record += data;
  put_fixed(record, masked_crc32c(data));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    throw Error("writing " + path_.string() + ": " + std::strerror(errno));
  }
}

}  // namespace lmc::train
