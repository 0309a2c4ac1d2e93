// Adapters made by peft load into lmc with peft's logits (tests/oracles/peft_adapters.py), lmc's own
// save/load round trip is exact, the fingerprint covers the adapter, and every adapter that does not
// fit the base is refused with a message naming the file and tensor, leaving the model untouched.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapter_test_util.h"
#include "common/error.h"
#include "infer/fingerprint.h"
#include "infer/tokenizers/byte_tokenizer.h"
#include "tensor_compare.h"

namespace lmc::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

at::Tensor golden(const std::string& name) { return golden_tensor(adapters_golden() / "golden.safetensors", name); }

TEST(PeftAdapter, PeftAdaptersGivePeftsLogits) {
  const at::Tensor ids = golden("input_ids");
  EXPECT_TRUE(tensors_close(lmc_logits(adapter_base(), {}, ids), golden("logits_base"), 1e-4));
  for (const std::string name : {"peft_qv", "peft_rslora"}) {
    SCOPED_TRACE(name);
    // The adapters must matter for the comparison to mean anything.
    EXPECT_GT(max_abs_diff(golden("logits_" + name), golden("logits_base")), 0.05);
    EXPECT_TRUE(tensors_close(lmc_logits(adapter_base(), adapters_golden() / name, ids), golden("logits_" + name), 1e-4));
  }
}

TEST(PeftAdapter, TargetsFollowPeftsMatching) {
  LlamaForCausalLM model = load_llama(adapter_base());
  std::vector<std::string> adapted;
  for (const auto& [prefix, linear] : apply_peft_adapter(model, adapters_golden() / "peft_rslora")) adapted.push_back(prefix);
  // The regex ".*\.(k_proj|o_proj|gate_proj|up_proj)" over the two layers.
  ASSERT_EQ(adapted.size(), 8u);
  EXPECT_EQ(adapted.front(), "model.layers.0.self_attn.k_proj");
  EXPECT_EQ(adapted.back(), "model.layers.1.mlp.up_proj");
  const PeftAdapterConfig config = read_peft_adapter_config(adapters_golden() / "peft_rslora");
  EXPECT_TRUE(config.spec.use_rslora);
  EXPECT_DOUBLE_EQ(config.spec.scale(), 16.0 / std::sqrt(8.0));
}

TEST(PeftAdapter, SavedAdapterReloadsExactly) {
  TempDir dir;
  LlamaForCausalLM model = load_llama(adapter_base());
  const AdaptedLinears adapted = apply_peft_adapter(model, adapters_golden() / "peft_qv");
  save_peft_adapter(dir / "copy", adapted, {"q_proj", "v_proj", "down_proj"}, adapter_base().string());
  const at::Tensor ids = golden("input_ids");
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(lmc_logits(adapter_base(), dir / "copy", ids), model->forward(ids)));
  const SafetensorsFile ours = SafetensorsFile::open(dir / "copy" / "adapter_model.safetensors");
  const SafetensorsFile peft = SafetensorsFile::open(adapters_golden() / "peft_qv" / "adapter_model.safetensors");
  ASSERT_EQ(ours.names().size(), peft.names().size());
  for (const auto& name : peft.names()) EXPECT_TRUE(at::equal(ours.tensor(name), peft.tensor(name))) << name;
}

TEST(PeftAdapter, FingerprintCoversTheAdapter) {
  auto tokenizer = make_byte_tokenizer();
  auto fingerprint = [&](const std::string& adapter) {
    LlamaForCausalLM model = load_llama(adapter_base());
    if (!adapter.empty()) apply_peft_adapter(model, adapters_golden() / adapter);
    return model_fingerprint(model, *tokenizer);
  };
  const uint64_t base = fingerprint("");
  EXPECT_EQ(fingerprint(""), base);
  EXPECT_EQ(fingerprint("peft_qv"), fingerprint("peft_qv"));
  EXPECT_NE(fingerprint("peft_qv"), base);
  EXPECT_NE(fingerprint("peft_rslora"), base);
  EXPECT_NE(fingerprint("peft_rslora"), fingerprint("peft_qv"));
}

// A writable copy of an adapter from the golden directory.
fs::path copy_adapter(const std::string& name, const TempDir& tmp) {
  fs::path to = tmp / name;
  fs::copy(adapters_golden() / name, to, fs::copy_options::recursive);
  return to;
}

void edit_adapter_config(const fs::path& dir, const std::function<void(json&)>& edit) {
  json config = json::parse(read_file(dir / "adapter_config.json"));
  edit(config);
  write_file(dir / "adapter_config.json", config.dump(2));
}

// The same adapter weights under another lora_alpha predict differently: from archive format 12 the
// fingerprint tells them apart; the one older archives recorded did not.
TEST(PeftAdapter, FingerprintCoversTheAdaptersScale) {
  TempDir tmp;
  const fs::path rescaled = copy_adapter("peft_qv", tmp);
  edit_adapter_config(rescaled, [](json& config) { config["lora_alpha"] = config["lora_alpha"].get<double>() * 2; });
  auto tokenizer = make_byte_tokenizer();
  auto fingerprint = [&](const fs::path& adapter, bool adapter_scales) {
    LlamaForCausalLM model = load_llama(adapter_base());
    apply_peft_adapter(model, adapter);
    return model_fingerprint(model, *tokenizer, adapter_scales);
  };
  EXPECT_NE(fingerprint(rescaled, true), fingerprint(adapters_golden() / "peft_qv", true));
  EXPECT_EQ(fingerprint(rescaled, false), fingerprint(adapters_golden() / "peft_qv", false));
}

// Applying `adapter` to the base throws an lmc::Error containing every needle; the model stays unadapted.
void expect_refused(const fs::path& adapter, const std::vector<std::string>& needles) {
  LlamaForCausalLM model = load_llama(adapter_base());
  try {
    apply_peft_adapter(model, adapter);
    ADD_FAILURE() << "adapter " << adapter << " was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(adapter.string()), std::string::npos) << message;
    for (const auto& needle : needles) EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
  for (const auto& [prefix, linear] : model->named_linears()) EXPECT_FALSE(linear->has_lora()) << prefix;
}

TEST(PeftAdapterErrors, AnotherHiddenSizeNamesTensorAndShapes) {
  expect_refused(adapters_golden() / "other_hidden",
                 {"adapter_model.safetensors", "tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' "
                                               "has shape [4, 32], expected [4, 64]"});
}

TEST(PeftAdapterErrors, AnotherLayerCountNamesTheExtraTensors) {
  expect_refused(adapters_golden() / "three_layers",
                 {"unexpected tensor 'base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight'"});
}

TEST(PeftAdapterErrors, MissingFiles) {
  TempDir tmp;
  fs::path no_config = copy_adapter("peft_qv", tmp);
  fs::remove(no_config / "adapter_config.json");
  expect_refused(no_config, {"adapter_config.json: no such file"});

  TempDir tmp2;
  fs::path no_weights = copy_adapter("peft_qv", tmp2);
  fs::remove(no_weights / "adapter_model.safetensors");
  expect_refused(no_weights, {"adapter_model.safetensors: no such file"});
  write_file(no_weights / "adapter_model.bin", "pickle");
  expect_refused(no_weights, {"adapter_model.bin (a pickle) is not read", "safe_serialization=True"});

  expect_refused(tmp / "nowhere", {"not a directory"});
}

TEST(PeftAdapterErrors, UnknownTargetModule) {
  TempDir tmp;
  fs::path dir = copy_adapter("peft_qv", tmp);
  edit_adapter_config(dir, [](json& c) { c["target_modules"] = {"q_proj", "v_proj", "down_proj", "lm_head"}; });
  expect_refused(dir, {"adapter_config.json: target module 'lm_head' matches no module of the model"});
}

TEST(PeftAdapterErrors, TargetsWithoutTensorsAreMissing) {
  TempDir tmp;
  fs::path dir = copy_adapter("peft_qv", tmp);
  edit_adapter_config(dir, [](json& c) { c["target_modules"] = {"q_proj", "v_proj", "down_proj", "k_proj"}; });
  expect_refused(dir, {"missing tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'"});
}

TEST(PeftAdapterErrors, UnsupportedSettingsAreListedTogether) {
  TempDir tmp;
  fs::path dir = copy_adapter("peft_qv", tmp);
  edit_adapter_config(dir, [](json& c) {
    c["use_dora"] = true;
    c["bias"] = "all";
    c["modules_to_save"] = {"lm_head"};
  });
  expect_refused(dir, {"use_dora is set (DoRA is not supported)", "bias is \"all\"", "modules_to_save is set"});
  edit_adapter_config(dir, [](json& c) {
    c = json{{"peft_type", "PREFIX_TUNING"}, {"task_type", "SEQ_CLS"}, {"r", "eight"}, {"target_modules", {"q_proj"}}};
  });
  expect_refused(dir, {"peft_type is PREFIX_TUNING", "task_type is SEQ_CLS", "r has the wrong type"});
}

}  // namespace
}  // namespace lmc::testing
