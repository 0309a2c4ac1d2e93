// Single-thread encode throughput of lmc's tokenizers, the C++ half of bench/bench_tokenize.py:
//   bench_tokenize --files LIST --max-bytes N --repeats R --tokenizer PATH [--tokenizer PATH...]
// LIST holds one document path per line; each document is its file's first N bytes, cut back to a UTF-8
// character boundary (the same cut the Python side makes). Each tokenizer encodes every document R times
// over; the best pass counts. Prints JSON: per tokenizer its kind, bytes, tokens, seconds and MB/s.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "infer/tokenizers/load.h"

namespace {

std::string document(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string data = buffer.str();
  size_t cut = std::min(max_bytes, data.size());
  while (cut > 0 && cut < data.size() && (static_cast<unsigned char>(data[cut]) & 0xC0) == 0x80) --cut;
  data.resize(cut);
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  std::string list;
  size_t max_bytes = 1 << 16;
  int repeats = 3;
  std::vector<std::string> tokenizers;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--files") list = argv[i + 1];
    else if (flag == "--max-bytes") max_bytes = std::stoul(argv[i + 1]);
    else if (flag == "--repeats") repeats = std::stoi(argv[i + 1]);
    else if (flag == "--tokenizer") tokenizers.push_back(argv[i + 1]);
    else {
      std::cerr << "bench_tokenize: unknown flag " << flag << "\n";
      return 2;
    }
  }
  std::vector<std::string> documents;
  size_t total = 0;
  std::ifstream paths(list);
  for (std::string path; std::getline(paths, path);) {
    if (path.empty()) continue;
    documents.push_back(document(path, max_bytes));
    total += documents.back().size();
  }

  nlohmann::json results = nlohmann::json::array();
  for (const std::string& path : tokenizers) {
    const auto tokenizer = lmc::load_tokenizer(path);
    double best = 1e30;
    size_t tokens = 0;
    for (int r = 0; r < repeats; ++r) {
      tokens = 0;
      const auto start = std::chrono::steady_clock::now();
      for (const std::string& doc : documents) tokens += tokenizer->encode(doc).size();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    results.push_back({{"path", path}, {"kind", tokenizer->kind()}, {"bytes", total}, {"tokens", tokens},
                       {"seconds", best}, {"mb_per_s", total / 1e6 / best}});
  }
  std::cout << results.dump(2) << "\n";
  return 0;
}
