// bench_coder [--json OUT.json]: the torch-free coder alone on one thread. Quantising a Llama 3 sized
// distribution (128256 logits) into a frequency table, which the codec does once per token per stream;
// range-coding symbols with ready tables (encode: cumulative lookup + coder; decode: coder + search);
// and the adaptive bit coder. Times are this thread's CPU time, best of several repetitions: the
// machine is shared, and other work only ever slows a run down. Writes bench/results/coder.json
// unless told otherwise.
#include <nlohmann/json.hpp>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "codec/coder.h"
#include "tests/codec/peaked_logits.h"

namespace lmc {
namespace {

constexpr int kVocab = 128256;
constexpr int kDistributions = 16;
constexpr int kRepetitions = 5;

double thread_cpu_seconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Least CPU time in seconds `body` took over kRepetitions runs.
template <typename Body>
double best_seconds(Body&& body) {
  double best = 1e300;
  for (int r = 0; r < kRepetitions; ++r) {
    double start = thread_cpu_seconds();
    body();
    best = std::min(best, thread_cpu_seconds() - start);
  }
  return best;
}

std::vector<std::vector<float>> make_logits(std::mt19937_64& rng) {
  std::vector<std::vector<float>> all;
  for (int i = 0; i < kDistributions; ++i) {
    double p_top = 0.5 + 0.4 * i / (kDistributions - 1);
    all.push_back(testing::peaked_logits(kVocab, p_top, 2.0 + (i % 3), rng));
  }
  return all;
}

nlohmann::json bench_quantize(const std::vector<std::vector<float>>& logits, int total_bits) {
  FrequencyTable table;
  const int calls = 64;
  double seconds = best_seconds([&] {
    for (int i = 0; i < calls; ++i) table.assign_logits(logits[i % logits.size()], total_bits);
  });
  double us = seconds / calls * 1e6;
  std::printf("quantize 2^%d: %.1f us per %d-symbol table (%.0f tables/s)\n", total_bits, us, kVocab, 1e6 / us);
  return {{"total_bits", total_bits}, {"vocab", kVocab}, {"us_per_table", us}, {"tables_per_s", 1e6 / us}};
}

nlohmann::json bench_range_coder(const std::vector<std::vector<float>>& logits, int total_bits, std::mt19937_64& rng) {
  std::vector<FrequencyTable> tables(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) tables[i].assign_logits(logits[i], total_bits);
  const int n = 200000;
  std::vector<int> symbols(n);
  double ideal_bits = 0.0;
  for (int i = 0; i < n; ++i) {
    const FrequencyTable& t = tables[i % tables.size()];
    symbols[i] = t.find(rng() & ((uint64_t{1} << total_bits) - 1)).symbol;
    ideal_bits += total_bits - std::log2(static_cast<double>(t.freq(symbols[i])));
  }
  std::vector<uint8_t> bytes;
  double encode_s = best_seconds([&] {
    RangeEncoder encoder;
    for (int i = 0; i < n; ++i) encode_symbol(encoder, tables[i % tables.size()], symbols[i]);
    bytes = encoder.finish();
  });
  bool exact = true;
  double decode_s = best_seconds([&] {
    RangeDecoder decoder(bytes);
    for (int i = 0; i < n; ++i) exact &= decode_symbol(decoder, tables[i % tables.size()]) == symbols[i];
    exact &= decoder.finished_cleanly();
  });
  std::printf("range coder 2^%d: encode %.2f M symbols/s, decode %.2f M symbols/s, %.1f bits/symbol (ideal %.1f)%s\n",
              total_bits, n / encode_s / 1e6, n / decode_s / 1e6, 8.0 * bytes.size() / n, ideal_bits / n,
              exact ? "" : "  DECODE MISMATCH");
  return {{"total_bits", total_bits},
          {"vocab", kVocab},
          {"symbols", n},
          {"encode_symbols_per_s", n / encode_s},
          {"decode_symbols_per_s", n / decode_s},
          {"coded_bits_per_symbol", 8.0 * bytes.size() / n},
          {"ideal_bits_per_symbol", ideal_bits / n},
          {"round_trip_exact", exact}};
}

nlohmann::json bench_bits(std::mt19937_64& rng) {
  std::vector<uint8_t> bits(1 << 22);
  for (uint8_t& b : bits) b = (rng() % 5 == 0) ? 1 : 0;  // skewed, so the model has something to learn
  std::vector<uint8_t> coded;
  double encode_s = best_seconds([&] { coded = encode_bits(bits, 2); });
  bool exact = true;
  double decode_s = best_seconds([&] { exact = decode_bits(coded, bits.size(), 2) == bits; });
  std::printf("adaptive bits: encode %.1f M bits/s, decode %.1f M bits/s, %.3f bits per bit%s\n",
              bits.size() / encode_s / 1e6, bits.size() / decode_s / 1e6, 8.0 * coded.size() / bits.size(),
              exact ? "" : "  DECODE MISMATCH");
  return {{"bits", bits.size()},
          {"encode_bits_per_s", bits.size() / encode_s},
          {"decode_bits_per_s", bits.size() / decode_s},
          {"coded_bits_per_bit", 8.0 * coded.size() / bits.size()},
          {"round_trip_exact", exact}};
}

}  // namespace
}  // namespace lmc

int main(int argc, char** argv) {
  std::string out = std::string(LMC_BENCH_RESULTS_DIR) + "/coder.json";
  if (argc == 3 && std::string(argv[1]) == "--json") {
    out = argv[2];
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: bench_coder [--json OUT.json]\n");
    return 1;
  }
  std::mt19937_64 rng(1);
  auto logits = lmc::make_logits(rng);
  nlohmann::json result;
  double load = 0.0;
  std::ifstream("/proc/loadavg") >> load;  // other work on a shared machine inflates the figures
  result["machine"] = {{"hardware_threads", std::thread::hardware_concurrency()}, {"load_average_1min", load}};
  result["note"] = "one thread; thread CPU time, best of " + std::to_string(lmc::kRepetitions) + " repetitions";
  for (int bits : {24, 28, 30}) result["quantize"].push_back(lmc::bench_quantize(logits, bits));
  for (int bits : {24, 28}) result["range_coder"].push_back(lmc::bench_range_coder(logits, bits, rng));
  result["adaptive_bits"] = lmc::bench_bits(rng);
  std::ofstream file(out);
  file << result.dump(2) << "\n";
  if (!file) {
    std::fprintf(stderr, "bench_coder: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
