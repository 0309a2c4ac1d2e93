#include "train_test_util.h"

#include <gtest/gtest.h>

#include "test_util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>

namespace lmc::testing {
namespace fs = std::filesystem;

std::string synthetic_text(size_t n, unsigned seed) {
  static const char* const kWords[] = {"the", "patient", "was", "given", "a", "dose", "of", "drug", "and", "trial",
                                       "showed", "that", "blood", "pressure", "fell", "in", "most", "cases", "while",
                                       "heart", "rate", "did", "not", "change", "over", "twelve", "weeks", "study"};
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < n) {
    text += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    text += rng() % 10 == 0 ? ". " : " ";
  }
  text.resize(n);
  return text;
}

std::string tiny_recipe(const fs::path& text_file, const fs::path& output_dir, const std::string& extra) {
  return "model:\n"
         "  architecture: {vocab_size: 258, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,\n"
         "                 num_attention_heads: 4, num_key_value_heads: 2, bos_token_id: 256, eos_token_id: 257}\n"
         "  init_seed: 3\n"
         "tokenizer: bytes\n"
         "data:\n"
         "  inputs: ['" + text_file.string() + "']\n"
         "  train_size: '0.8'\n"
         "  val_size: '0.1'\n"
         "  chunk_bytes: 64\n"
         "lora: {rank: 4, alpha: 8, dropout: 0.1}\n"
         "optimizer: {lr: 1.0e-2, weight_decay: 0.01}\n"
         "scheduler: {warmup_steps: 2}\n"
         "batch_size: 2\n"
         "gradient_accumulation_steps: 2\n"
         "max_steps: 12\n"
         "eval_every: 4\n"
         "checkpoint_every: 4\n"
         "threads: 1\n"
         "output_dir: '" + output_dir.string() + "'\n" + extra;
}

std::vector<nlohmann::json> read_metrics(const fs::path& output_dir) {
  std::ifstream in(output_dir / "metrics.jsonl");
  std::vector<nlohmann::json> records;
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::vector<double> losses_of(const std::vector<nlohmann::json>& records) {
  std::vector<double> losses;
  for (const auto& r : records) {
    if (r.contains("loss_bpb")) losses.push_back(r["loss_bpb"].get<double>());
  }
  return losses;
}

nlohmann::json tensorboard_scalars(const fs::path& log_dir) {
  const std::string python = setting("LMC_PYTHON");
  const std::string script =
      "import json, sys\n"
      "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n"
      "acc = EventAccumulator(sys.argv[1]); acc.Reload()\n"
      "print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()['scalars']}))\n";
  TempDir dir;
  write_file(dir / "read_scalars.py", script);
  auto result = run_command(python + " " + (dir / "read_scalars.py").string() + " " + log_dir.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  if (result.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(result.out);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace lmc::testing
