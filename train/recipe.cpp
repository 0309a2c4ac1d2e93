#include "train/recipe.h"

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "data/splits.h"
#include "infer/llama_config.h"
#include "train/config_reader.h"

namespace lmc::train {
namespace {

// YAML scalars carry no type: try integer, then number, then boolean, else keep the text.
nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& item : node) j[item.first.as<std::string>()] = yaml_to_json(item.second);
    return j;
  }
  if (node.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& item : node) j.push_back(yaml_to_json(item));
    return j;
  }
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  int64_t i;
  double d;
  bool b;
  if (YAML::convert<int64_t>::decode(node, i)) return i;
  if (YAML::convert<double>::decode(node, d)) return d;
  if (YAML::convert<bool>::decode(node, b)) return b;
  return node.Scalar();
}

void read_model(ConfigMap model, Recipe& r) {
  model.get("path", r.model.path);
  YAML::Node architecture = model.raw("architecture");
  model.get("init_std", r.model.init_std, positive_number());
  model.get("init_seed", r.model.init_seed, non_negative());
  model.finish();
  const bool has_arch = architecture.IsDefined() && !architecture.IsNull();
  if (has_arch) {
    if (!architecture.IsMap()) {
      model.errors().add("model.architecture", "expected a mapping of config.json fields");
    } else {
      r.model.architecture = yaml_to_json(architecture);
      try {
        LlamaConfig::from_json(r.model.architecture);
      } catch (const Error& e) {
        model.errors().add("model.architecture", e.what());
      }
    }
  }
  if (has_arch == !r.model.path.empty()) {
    model.errors().add("model", "give exactly one of 'path' (a Hugging Face model directory) or 'architecture'");
  }
}

void read_data(ConfigMap data, Recipe& r) {
  auto& d = r.data;
  data.get("inputs", d.inputs);
  data.get("shards", d.shards);
  data.get("modality", d.modality, one_of({"text", "audio"}));
  auto split_size = [&](const char* key, std::string& out) {
    YAML::Node node = data.raw(key);
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsScalar()) {
      data.errors().add(data.path_of(key), "expected a size (\"64MiB\") or a fraction (0.8)");
      return;
    }
    try {
      data::parse_split_size(node.Scalar());
      out = node.Scalar();
    } catch (const Error& e) {
      data.errors().add(data.path_of(key), e.what());
    }
  };
  split_size("train_size", d.train_size);
  split_size("val_size", d.val_size);
  data.get("split_seed", d.split_seed, non_negative());
  data.get("chunk_bytes", d.chunk_bytes, positive());
  data.get("shuffle", d.shuffle);
  data.get("eval_chunks", d.eval_chunks, non_negative());
  data.get("codec_chunks", d.codec_chunks, non_negative());
  data.finish();
  if (d.inputs.empty() == d.shards.empty()) {
    data.errors().add("data", "give exactly one of 'inputs' (raw files, prepared on the fly) or 'shards' "
                              "(a directory from `lmc prepare`)");
  }
}

void read_lora(ConfigMap lora, LoraRecipe& l) {
  lora.get("rank", l.rank, positive());
  lora.get("alpha", l.alpha, positive_number());
  lora.get("dropout", l.dropout, in_range(0.0, 0.99));
  lora.get("use_rslora", l.use_rslora);
  lora.get("target_modules", l.target_modules);
  lora.get("init_from", l.init_from);
  lora.finish();
  if (l.target_modules.empty()) lora.errors().add("lora.target_modules", "must name at least one module");
  std::string allowed;
  for (const auto& m : kLoraModules) allowed += (allowed.empty() ? "" : ", ") + m;
  for (const auto& m : l.target_modules) {
    if (std::find(kLoraModules.begin(), kLoraModules.end(), m) == kLoraModules.end()) {
      lora.errors().add("lora.target_modules", "unknown module '" + m + "' (expected some of " + allowed + ")");
    }
  }
}

void read_optimizer(ConfigMap opt, OptimizerRecipe& o) {
  std::string name = "adamw";  // the one optimizer; the key exists so recipes can say so
  opt.get("name", name, one_of({"adamw"}));
  opt.get("lr", o.lr, positive_number());
  opt.get("eps", o.eps, positive_number());
  opt.get("weight_decay", o.weight_decay, in_range(0.0, 1e9));
  YAML::Node betas = opt.raw("betas");
  if (betas.IsDefined() && !betas.IsNull()) {
    bool ok = betas.IsSequence() && betas.size() == 2;
    double b1 = 0, b2 = 0;
    ok = ok && YAML::convert<double>::decode(betas[0], b1) && YAML::convert<double>::decode(betas[1], b2);
    if (!ok || b1 < 0 || b1 >= 1 || b2 < 0 || b2 >= 1) {
      opt.errors().add("optimizer.betas", "expected two numbers in [0, 1), e.g. [0.9, 0.999]");
    } else {
      o.beta1 = b1;
      o.beta2 = b2;
    }
  }
  opt.finish();
}

Check<std::string> device_name() {
  return [](const std::string& v) -> std::optional<std::string> {
    static const std::regex pattern("cpu|cuda(:[0-9]+)?");
    if (std::regex_match(v, pattern)) return std::nullopt;
    return "expected cpu, cuda or cuda:N, got '" + v + "'";
  };
}

Recipe read_recipe(YAML::Node root, ConfigErrors& errors) {
  Recipe r;
  if (!root.IsMap()) {
    errors.add("", "a recipe must be a YAML mapping of keys");
    return r;
  }
  ConfigMap top(root, "", errors);
  top.require("model");
  read_model(top.section("model"), r);
  top.get("tokenizer", r.tokenizer);
  top.require("data");
  read_data(top.section("data"), r);
  if (top.has("lora")) {
    r.lora = LoraRecipe{};
    read_lora(top.section("lora"), *r.lora);
  } else {
    top.raw("lora");
  }
  read_optimizer(top.section("optimizer"), r.optimizer);
  ConfigMap scheduler = top.section("scheduler");
  scheduler.get("name", r.scheduler.name, one_of({"cosine", "constant"}));
  scheduler.get("warmup_steps", r.scheduler.warmup_steps, non_negative());
  scheduler.finish();

  top.get("batch_size", r.batch_size, positive());
  top.get("gradient_accumulation_steps", r.gradient_accumulation_steps, positive());
  top.get("dtype", r.dtype, one_of({"fp32", "bf16"}));
  top.get("activation_checkpointing", r.activation_checkpointing);
  top.get("max_steps", r.max_steps, non_negative());
  top.get("epochs", r.epochs, positive());
  top.get("eval_every", r.eval_every, non_negative());
  top.get("checkpoint_every", r.checkpoint_every, non_negative());
  top.get("keep_checkpoints", r.keep_checkpoints, non_negative());
  top.get("log_every", r.log_every, positive());
  top.get("seed", r.seed, non_negative());
  top.get("device", r.device, device_name());
  top.get("threads", r.threads, non_negative());
  top.require("output_dir");
  top.get("output_dir", r.output_dir);
  top.finish();
  if (r.model.from_scratch() && r.tokenizer.empty() && !r.model.architecture.is_null()) {
    errors.add("tokenizer", "a model trained from 'architecture' needs a tokenizer ('bytes' or a tokenizer file)");
  }
  return r;
}

}  // namespace

Recipe parse_recipe(const std::string& yaml_text, const std::vector<std::string>& overrides, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(name + ": not valid YAML: " + e.what());
  }
  ConfigErrors errors;
  apply_overrides(root, overrides, errors);
  Recipe recipe = read_recipe(root, errors);
  errors.throw_if_any(name);
  return recipe;
}

Recipe load_recipe(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open recipe '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_recipe(text.str(), overrides, path.string());
}

nlohmann::json Recipe::to_json() const {
  nlohmann::json model_json = {{"init_std", model.init_std}, {"init_seed", model.init_seed}};
  if (model.from_scratch()) {
    model_json["architecture"] = model.architecture;
  } else {
    model_json["path"] = model.path;
  }
  nlohmann::json j = {
      {"model", model_json},
      {"tokenizer", tokenizer},
      {"data",
       {{"inputs", data.inputs}, {"shards", data.shards}, {"modality", data.modality},
        {"train_size", data.train_size}, {"val_size", data.val_size},
        {"split_seed", data.split_seed ? nlohmann::json(*data.split_seed) : nlohmann::json(nullptr)},
        {"chunk_bytes", data.chunk_bytes}, {"shuffle", data.shuffle}, {"eval_chunks", data.eval_chunks},
        {"codec_chunks", data.codec_chunks}}},
      {"optimizer",
       {{"name", "adamw"}, {"lr", optimizer.lr}, {"betas", {optimizer.beta1, optimizer.beta2}}, {"eps", optimizer.eps},
        {"weight_decay", optimizer.weight_decay}}},
      {"scheduler", {{"name", scheduler.name}, {"warmup_steps", scheduler.warmup_steps}}},
      {"batch_size", batch_size},
      {"gradient_accumulation_steps", gradient_accumulation_steps},
      {"dtype", dtype},
      {"activation_checkpointing", activation_checkpointing},
      {"max_steps", max_steps},
      {"epochs", epochs},
      {"eval_every", eval_every},
      {"checkpoint_every", checkpoint_every},
      {"keep_checkpoints", keep_checkpoints},
      {"log_every", log_every},
      {"seed", seed},
      {"device", device},
      {"threads", threads},
      {"output_dir", output_dir},
  };
  if (lora) {
    j["lora"] = {{"rank", lora->rank},           {"alpha", lora->alpha},
                 {"dropout", lora->dropout},     {"use_rslora", lora->use_rslora},
                 {"target_modules", lora->target_modules}, {"init_from", lora->init_from}};
  } else {
    j["lora"] = nullptr;
  }
  return j;
}

}  // namespace lmc::train
