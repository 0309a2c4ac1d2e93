#include "infer/fingerprint.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <memory>

#include "common/error.h"

namespace lmc {

uint64_t model_fingerprint(LlamaForCausalLM& model, const Tokenizer& tokenizer, bool adapter_scales) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) throw Error("cannot initialise the hash state");
  auto add = [&](const void* data, size_t size) { XXH3_64bits_update(state.get(), data, size); };
  const std::string config = model->config().to_json().dump();
  add(config.data(), config.size());
  const uint64_t tokenizer_id = tokenizer.fingerprint();
  add(&tokenizer_id, sizeof tokenizer_id);
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    add(name.data(), name.size() + 1);
    auto tensor = item.value().detach().to(at::kCPU).contiguous();
    const int64_t dtype = static_cast<int64_t>(tensor.scalar_type());
    add(&dtype, sizeof dtype);
    for (int64_t d : tensor.sizes()) add(&d, sizeof d);
    add(tensor.data_ptr(), tensor.nbytes());
  }
  if (adapter_scales) {
    for (const auto& [name, linear] : model->named_linears()) {
      if (!linear->has_lora()) continue;
      const double scale = linear->lora_spec().scale();
      const uint8_t merged = linear->lora_merged() ? 1 : 0;
      add(name.data(), name.size() + 1);
      add(&scale, sizeof scale);
      add(&merged, sizeof merged);
    }
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace lmc
