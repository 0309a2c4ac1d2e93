// --adapter on the commands a user runs, against peft and transformers: `lmc eval` bits equal
// transformers + peft bits, an adapter `lmc train` writes loads in PeftModel.from_pretrained with lmc's
// logits, `lmc export` equals the unmerged adapter, archives need the adapter they were made with,
// `lmc generate` at temperature 0 is peft's greedy decoding, and bad adapters are one-line errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapter_test_util.h"
#include "tensor_compare.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const json& golden_json() {
  static const json golden = json::parse(read_file(adapters_golden() / "golden.json"));
  return golden;
}

std::string base_arg() { return " --model " + adapter_base().string(); }
std::string adapter_arg(const std::string& name) { return " --adapter " + (adapters_golden() / name).string(); }
std::string sample_arg() { return std::string(" ").append((adapter_base() / "sample.bin").string()); }

double eval_bits(const std::string& args) {
  auto r = run_lmc("eval --json --chunk-bytes " + std::to_string(golden_json()["chunk_bytes"].get<int>()) + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out)["bits"].get<double>() : 0.0;
}

TEST(CliAdapter, EvalBitsEqualPeft) {
  for (const std::string name : {"base", "peft_qv", "peft_rslora"}) {
    SCOPED_TRACE(name);
    const double expected = golden_json()["bits"][name].get<double>();
    const double bits = eval_bits(base_arg() + (name == "base" ? "" : adapter_arg(name)) + sample_arg());
    // fp32 logits agree to ~1e-5; summed over ~1000 tokens the bits agree to far better than 1e-5 relative.
    EXPECT_NEAR(bits, expected, 1e-5 * expected);
  }
}

constexpr const char* kPeftLogits = R"(import sys
import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM
base, adapter, golden, out = sys.argv[1:5]
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, attn_implementation='eager'), adapter).eval()
with torch.no_grad():
    logits = model(load_file(golden)['input_ids']).logits.float().contiguous()
save_file({'logits': logits}, out)
)";

TEST(CliAdapter, LmcTrainedAdapterLoadsInPeft) {
  TempDir tmp;
  std::string text;
  for (int i = 0; text.size() < 20000; ++i) text += "Record " + std::to_string(i * 7919 % 1000) + ": dose 5 mg twice daily.\n";
  write_file(tmp / "text.txt", text);
  write_file(tmp / "recipe.yaml", "model: {path: '" + adapter_base().string() + "'}\n"
                                  "data: {inputs: ['" + (tmp / "text.txt").string() + "'], train_size: '0.8', "
                                  "val_size: '0.1', chunk_bytes: 64}\n"
                                  "lora: {rank: 4, alpha: 16, target_modules: [q_proj, k_proj, o_proj, up_proj]}\n"
                                  "optimizer: {lr: 3.0e-2}\n"
                                  "batch_size: 2\nmax_steps: 3\nthreads: 1\n"
                                  "output_dir: '" + (tmp / "run").string() + "'\n");
  auto train = run_lmc("train " + (tmp / "recipe.yaml").string());
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const fs::path adapter = tmp / "run" / "step_3";
  ASSERT_TRUE(fs::exists(adapter / "adapter_model.safetensors"));

  const fs::path golden_file = adapters_golden() / "golden.safetensors";
  run_python(tmp, kPeftLogits,
             adapter_base().string() + " " + adapter.string() + " " + golden_file.string() + " " +
                 (tmp / "peft.safetensors").string());
  const at::Tensor ids = golden_tensor(golden_file, "input_ids");
  const at::Tensor ours = lmc_logits(adapter_base(), adapter, ids);
  EXPECT_GT(max_abs_diff(ours, lmc_logits(adapter_base(), {}, ids)), 1e-3) << "training changed nothing";
  EXPECT_TRUE(tensors_close(ours, golden_tensor(tmp / "peft.safetensors", "logits"), 1e-4));
}

TEST(CliAdapter, ExportEqualsTheUnmergedAdapter) {
  TempDir tmp;
  const std::string out = (tmp / "merged").string();
  auto r = run_lmc("export" + base_arg() + adapter_arg("peft_rslora") + " --out " + out + " --max-shard-size 20KB");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("8 with the adapter merged"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "merged" / "model.safetensors.index.json"));
  const double merged = eval_bits(" --model " + out + sample_arg());
  const double unmerged = eval_bits(base_arg() + adapter_arg("peft_rslora") + sample_arg());
  EXPECT_NEAR(merged, unmerged, 1e-6 * unmerged);

  auto again = run_lmc("export" + base_arg() + adapter_arg("peft_rslora") + " --out " + out);
  expect_one_line_error(again, "export", "already exists (use -f to replace it)");
  EXPECT_EQ(run_lmc("export" + base_arg() + " --out " + out + " -f --dtype bf16").exit_code, 0);
  EXPECT_EQ(json::parse(read_file(tmp / "merged" / "config.json"))["torch_dtype"], "bfloat16");
  EXPECT_FALSE(fs::exists(tmp / "merged" / "model.safetensors.index.json")) << "the old shards went with the old export";
}

TEST(CliAdapter, ArchivesNeedTheirAdapter) {
  TempDir tmp;
  const fs::path input = tmp / "notes.txt";
  write_file(input, read_file(adapter_base() / "sample.bin"));
  // --no-store: the random test model would store the chunk, and the adapter's decode path go untested.
  auto compress = run_lmc("compress -k --no-store" + base_arg() + adapter_arg("peft_qv") + " " + input.string());
  ASSERT_EQ(compress.exit_code, 0) << compress.err;
  const fs::path archive = tmp / "notes.txt.lmc";
  ASSERT_TRUE(fs::exists(archive));
  const std::string archive_bytes = read_file(archive);  // decompress without -k removes it

  auto without = run_lmc("decompress" + base_arg() + " -o " + (tmp / "plain.txt").string() + " " + archive.string());
  expect_one_line_error(without, "decompress", "made with another model, adapter or tokenizer");
  EXPECT_FALSE(fs::exists(tmp / "plain.txt"));
  auto other = run_lmc("decompress" + base_arg() + adapter_arg("peft_rslora") + " -o " + (tmp / "other.txt").string() +
                       " " + archive.string());
  expect_one_line_error(other, "decompress", "adapter");
  EXPECT_FALSE(fs::exists(tmp / "other.txt"));

  auto with = run_lmc("decompress" + base_arg() + adapter_arg("peft_qv") + " -o " + (tmp / "back.txt").string() + " " +
                      archive.string());
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(read_file(tmp / "back.txt"), read_file(input));

  // Before format 12 the fingerprint left out the adapter's scale: such an archive (here the same one
  // relabelled 11, with the fingerprint that lmc recorded then) still decodes with its adapter.
  std::string older = archive_bytes;
  older[3] = 11;
  write_file(tmp / "older.lmc", older);
  auto refused = run_lmc("decompress" + base_arg() + adapter_arg("peft_qv") + " -o " + (tmp / "older.txt").string() +
                         " " + (tmp / "older.lmc").string());
  ASSERT_NE(refused.exit_code, 0) << "the format-12 fingerprint is not the one format 11 recorded";
  const size_t at = refused.err.find("this model ");
  ASSERT_NE(at, std::string::npos) << refused.err;
  const uint64_t legacy = std::stoull(refused.err.substr(at + 11));
  size_t fingerprint_at = 6;  // after "LMC", version, mode and flags: the original size's varint, then it
  while (static_cast<uint8_t>(older[fingerprint_at]) & 0x80) ++fingerprint_at;
  ++fingerprint_at;
  for (int i = 0; i < 8; ++i) older[fingerprint_at + i] = static_cast<char>(legacy >> (8 * i));
  write_file(tmp / "older.lmc", older);
  auto decoded = run_lmc("decompress" + base_arg() + adapter_arg("peft_qv") + " -o " + (tmp / "older.txt").string() +
                         " " + (tmp / "older.lmc").string());
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(read_file(tmp / "older.txt"), read_file(input));
}

std::vector<int> generated_tokens(const std::string& args) {
  auto r = run_lmc("generate --json" + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out)["tokens"].get<std::vector<int>>() : std::vector<int>{};
}

TEST(CliGenerate, GreedyIsPeftsArgmaxDecoding) {
  const std::string n = " -n " + std::to_string(golden_json()["greedy"]["base"].size());
  EXPECT_EQ(generated_tokens(base_arg() + " --temperature 0" + n), golden_json()["greedy"]["base"].get<std::vector<int>>());
  const std::string n_qv = " -n " + std::to_string(golden_json()["greedy"]["peft_qv"].size());
  EXPECT_EQ(generated_tokens(base_arg() + adapter_arg("peft_qv") + " --temperature 0" + n_qv),
            golden_json()["greedy"]["peft_qv"].get<std::vector<int>>());
}

TEST(CliGenerate, SamplingFollowsSeedTemperatureAndTopP) {
  const std::string args = base_arg() + " -n 40 --temperature 1.5";
  const auto first = generated_tokens(args + " --seed 1");
  EXPECT_EQ(first.size(), 40u);
  EXPECT_EQ(generated_tokens(args + " --seed 1"), first) << "a seed reproduces its tokens";
  EXPECT_NE(generated_tokens(args + " --seed 2"), first);
  // A nucleus holding only the most probable token is greedy decoding, whatever the temperature.
  EXPECT_EQ(generated_tokens(base_arg() + " -n 12 --temperature 1.5 --top-p 1e-9 --seed 3"),
            generated_tokens(base_arg() + " -n 12 --temperature 0"));
}

TEST(CliGenerate, PrintsThePromptAndTheTextAsBytes) {
  auto json_run = run_lmc("generate --json" + base_arg() + " --prompt 'Dose: ' -n 20 --temperature 0");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const json j = json::parse(json_run.out);
  std::vector<int> expected_prompt = {256};
  for (char c : std::string("Dose: ")) expected_prompt.push_back(static_cast<unsigned char>(c));
  EXPECT_EQ(j["prompt_tokens"].get<std::vector<int>>(), expected_prompt);
  std::string text;
  for (int id : j["tokens"].get<std::vector<int>>()) text += static_cast<char>(id);  // the byte tokenizer
  auto plain = run_lmc("generate" + base_arg() + " --prompt 'Dose: ' -n 20 --temperature 0");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "Dose: " + text + "\n");
}

TEST(CliAdapterErrors, AreOneLineAndNameTheProblem) {
  expect_one_line_error(run_lmc("eval" + base_arg() + adapter_arg("other_hidden") + sample_arg()), "eval",
                        "has shape [4, 32], expected [4, 64]");
  expect_one_line_error(run_lmc("generate" + base_arg() + adapter_arg("three_layers") + " -n 3"), "generate",
                        "unexpected tensor 'base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight'");
  expect_one_line_error(run_lmc("eval" + base_arg() + " --adapter /nonexistent/adapter" + sample_arg()), "eval",
                        "adapter '/nonexistent/adapter': no such directory");
  TempDir tmp;
  fs::copy(adapters_golden() / "peft_qv", tmp / "a", fs::copy_options::recursive);
  json config = json::parse(read_file(tmp / "a" / "adapter_config.json"));
  config["target_modules"] = {"q_proj", "qkv_proj"};
  write_file(tmp / "a" / "adapter_config.json", config.dump());
  expect_one_line_error(run_lmc("compress -o " + (tmp / "x.lmc").string() + base_arg() + " --adapter " + (tmp / "a").string() +
                                sample_arg()),
                        "compress", "target module 'qkv_proj' matches no module of the model");
  fs::remove(tmp / "a" / "adapter_config.json");
  expect_one_line_error(run_lmc("export" + base_arg() + " --adapter " + (tmp / "a").string() + " --out " +
                                (tmp / "out").string()),
                        "export", "adapter_config.json: no such file");
  EXPECT_FALSE(fs::exists(tmp / "out"));
  expect_one_line_error(run_lmc("export" + base_arg() + " --out " + (tmp / "out").string() + " --max-shard-size 5XB"),
                        "export", "--max-shard-size '5XB' is not a size");
}

}  // namespace
}  // namespace lmc::testing
