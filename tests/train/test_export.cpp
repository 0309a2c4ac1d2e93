// What lmc train writes loads in the reference libraries: a full fine-tune's step_N/ is a Hugging Face
// model directory whose bits per byte under transformers equal `lmc eval`'s, and a LoRA step_N/ loads
// with peft's PeftModel.from_pretrained carrying exactly lmc's adapter weights.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train_test_util.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kCheckScript = R"(import json, math, sys
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import LlamaForCausalLM
full, adapter, sample = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
model = LlamaForCausalLM.from_pretrained(full).eval()
bits = 0.0
with torch.no_grad():
    for i in range(0, len(sample), 64):
        chunk = list(sample[i:i + 64])
        logits = model(torch.tensor([[256] + chunk[:-1]])).logits[0].float()
        bits += torch.nn.functional.cross_entropy(logits, torch.tensor(chunk), reduction='sum').item() / math.log(2)
peft = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(full), adapter)
ours = load_file(adapter + '/adapter_model.safetensors')
loaded = {k: v for k, v in peft.state_dict().items() if 'lora_' in k}
same = len(loaded) == len(ours) and all(
    torch.equal(loaded[k.replace('.weight', '.default.weight')], v) for k, v in ours.items())
print(json.dumps({'bits_per_byte': bits / len(sample), 'adapter_equal': same,
                  'adapter_nonzero': all(v.abs().max() > 0 for v in ours.values())}))
)";

TEST(Export, CheckpointsLoadInTransformersAndPeft) {
  const std::string python = setting("LMC_PYTHON");
  if (python.empty()) GTEST_SKIP() << "LMC_PYTHON is not set";
  TempDir dir;
  write_file(dir / "text.txt", synthetic_text(16000, 6));
  write_file(dir / "sample.txt", synthetic_text(640, 7));
  write_file(dir / "recipe.yaml", tiny_recipe(dir / "text.txt", dir / "unused"));
  const std::string recipe = (dir / "recipe.yaml").string();
  auto full = run_lmc("train " + recipe + " lora= max_steps=4 output_dir=" + (dir / "full").string());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const fs::path model = dir / "full" / "step_4";
  auto lora = run_lmc("train " + recipe + " model.architecture= tokenizer= model.path=" + model.string() +
                      " max_steps=4 output_dir=" + (dir / "lora").string());
  ASSERT_EQ(lora.exit_code, 0) << lora.err;

  auto eval = run_lmc("eval --model " + model.string() + " --chunk-bytes 64 --json " + (dir / "sample.txt").string());
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const double lmc_bpb = nlohmann::json::parse(eval.out)["bits_per_byte"].get<double>();
  write_file(dir / "check.py", kCheckScript);
  auto check = run_command(python + " " + (dir / "check.py").string() + " " + model.string() + " " +
                           (dir / "lora" / "step_4").string() + " " + (dir / "sample.txt").string());
  ASSERT_EQ(check.exit_code, 0) << check.err;
  const auto result = nlohmann::json::parse(check.out);
  EXPECT_NEAR(result["bits_per_byte"].get<double>(), lmc_bpb, 1e-5 * lmc_bpb);
  EXPECT_TRUE(result["adapter_equal"].get<bool>()) << check.out;
  EXPECT_TRUE(result["adapter_nonzero"].get<bool>()) << check.out;
}

}  // namespace
}  // namespace lmc::testing
