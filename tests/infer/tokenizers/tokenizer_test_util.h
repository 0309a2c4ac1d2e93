// Helpers of the tokenizer tests: reading the oracles' golden JSON, the compact id digest the oracles
// write (count + zlib crc32 of the ids as little-endian int32), hex strings, and random byte strings.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "infer/tokenizers/tokenizer.h"

namespace lmc::testing {

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

inline std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

inline std::string to_hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

inline uint32_t ids_crc32(const std::vector<TokenId>& ids) {
  std::vector<unsigned char> bytes(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto v = static_cast<uint32_t>(ids[i]);
    for (int k = 0; k < 4; ++k) bytes[4 * i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  return static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
}

inline std::vector<TokenId> json_ids(const nlohmann::json& j) { return j.get<std::vector<TokenId>>(); }

// Short random byte strings that stress lossless encoding: uniform bytes, valid UTF-8 of every length,
// whitespace runs (ASCII and Unicode), CR/LF mixes, NUL, SentencePiece's U+2581, contractions.
class RandomBytes {
 public:
  explicit RandomBytes(uint64_t seed) : rng_(seed) {}

  std::string next(size_t max_parts) {
    static const std::vector<std::string> kAtoms = {
        " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", std::string(1, '\0'), "\xC2\x85", "\xC2\xA0", "\xE1\xA0\x8E",
        "\xE2\x80\xA8", "\xE3\x80\x80", "\xE2\x96\x81", "'s", "'LL", "a", "Z", "the", " word", "123", "4567",
        ".", "!?", "<|begin_of_text|>", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xEF\xAC\x81"};
    std::string out;
    const size_t parts = std::uniform_int_distribution<size_t>(0, max_parts)(rng_);
    for (size_t i = 0; i < parts; ++i) {
      switch (std::uniform_int_distribution<int>(0, 3)(rng_)) {
        case 0:
          out += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng_));
          break;
        case 1:
          out += kAtoms[std::uniform_int_distribution<size_t>(0, kAtoms.size() - 1)(rng_)];
          break;
        case 2:
          out += random_code_point();
          break;
        default:
          out += static_cast<char>(std::uniform_int_distribution<int>(0x20, 0x7E)(rng_));
      }
    }
    return out;
  }

 private:
  // A random scalar value (no surrogates) as UTF-8.
  std::string random_code_point() {
    uint32_t cp = 0;
    do {
      const int width = std::uniform_int_distribution<int>(1, 4)(rng_);
      const uint32_t limits[] = {0x80, 0x800, 0x10000, 0x110000};
      const uint32_t low = width == 1 ? 0 : limits[width - 2];
      cp = std::uniform_int_distribution<uint32_t>(low, limits[width - 1] - 1)(rng_);
    } while (cp >= 0xD800 && cp < 0xE000);
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  }

  std::mt19937_64 rng_;
};

}  // namespace lmc::testing
