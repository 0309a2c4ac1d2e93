// Parsing of split sizes and the split plan; see splits.h for the rules.
#include "data/splits.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "data/shuffle.h"

namespace lmc::data {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

uint64_t parse_byte_size(std::string_view text) {
  std::string s = lower(text);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) {
    throw Error("bad size '" + std::string(text) + "': expected a byte count like 1048576, 512KB or 64MB");
  }
  std::string unit(end, static_cast<const char*>(s.data() + s.size()));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  uint64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  if (unit == "k" || unit == "kb" || unit == "kib") scale = uint64_t{1} << 10;
  if (unit == "m" || unit == "mb" || unit == "mib") scale = uint64_t{1} << 20;
  if (unit == "g" || unit == "gb" || unit == "gib") scale = uint64_t{1} << 30;
  if (scale == 0) throw Error("bad size '" + std::string(text) + "': unknown unit '" + unit + "' (B, KB, MB, GB)");
  if (value > UINT64_MAX / scale) throw Error("size '" + std::string(text) + "' is too large");
  return value * scale;
}

SplitSize parse_split_size(std::string_view text) {
  if (text.find('.') == std::string_view::npos) return SplitSize::of_bytes(parse_byte_size(text));
  std::string s(text);
  char* end = nullptr;
  double f = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(f) || f < 0 || f > 1) {
    throw Error("bad split size '" + s + "': a fraction must be a number in [0, 1] like 0.8");
  }
  return SplitSize::of_fraction(f);
}

std::string describe_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB (%llu bytes)", static_cast<double>(bytes) / (1 << 20),
                  static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

SplitPlan plan_splits(const Corpus& corpus, SplitSize train, SplitSize val, std::optional<uint64_t> seed) {
  if (corpus.docs.empty() || corpus.total_bytes == 0) {
    std::string why = corpus.docs.empty() ? "no documents" : "only empty documents";
    if (!corpus.skipped.empty()) {
      why += " (" + std::to_string(corpus.skipped.size()) + " files of the other modality skipped, e.g. " +
             corpus.skipped.front() + ")";
    }
    throw Error("empty corpus: the inputs hold " + why);
  }
  auto resolve = [&](const SplitSize& size) {
    if (!size.is_fraction) return size.bytes;
    return static_cast<uint64_t>(std::floor(size.fraction * static_cast<double>(corpus.total_bytes)));
  };
  SplitPlan plan;
  plan.train_bytes = resolve(train);
  plan.val_bytes = resolve(val);
  if (plan.train_bytes > corpus.total_bytes || plan.val_bytes > corpus.total_bytes - plan.train_bytes) {
    throw Error("split sizes do not fit: train " + describe_bytes(plan.train_bytes) + " + validation " +
                describe_bytes(plan.val_bytes) + " exceed the corpus, which has " +
                describe_bytes(corpus.total_bytes) +
                "; lower --train-bytes/--val-bytes or give fractions such as --train-bytes 0.8 --val-bytes 0.1");
  }
  plan.test_bytes = corpus.total_bytes - plan.train_bytes - plan.val_bytes;
  plan.order.resize(corpus.docs.size());
  if (seed) {
    auto shuffled = shuffled_indices(static_cast<int64_t>(corpus.docs.size()), *seed);
    for (size_t i = 0; i < shuffled.size(); ++i) plan.order[i] = static_cast<uint32_t>(shuffled[i]);
  } else {
    std::iota(plan.order.begin(), plan.order.end(), uint32_t{0});
  }
  return plan;
}

}  // namespace lmc::data
