"""Golden files for lmc's PEFT adapter support, made with transformers + peft.

Usage: peft_adapters.py OUT_DIR

Writes:
  base/                 a tiny byte-tokenizer LLaMA (ids 0..255 bytes, 256 BOS, 257 EOS), with sample.bin
  peft_qv/              an adapter made by peft: r 4, alpha 8, on q_proj, v_proj, down_proj
  peft_rslora/          r 8, alpha 16, rank-stabilised, target_modules given as a regular expression
  other_hidden/         an adapter for a model of hidden size 32 (refused by lmc on base/)
  three_layers/         an adapter for a 3-layer model of the same width (refused: tensors lmc cannot place)
  golden.safetensors    input_ids [2, 33] and fp32 logits of base, peft_qv and peft_rslora on them
  golden.json           bits of sample.bin in 256-byte chunks under each model (lmc eval's unit), and
                        40 greedy tokens from BOS under each (a full forward per token: no KV cache)
Every factor, B included, is random, so each adapter changes the logits.
"""
import json
import math
import sys
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

CHUNK_BYTES = 256
GREEDY_TOKENS = 40
BOS, EOS = 256, 257


def tiny_model(hidden=64, layers=2, seed=7):
    config = LlamaConfig(vocab_size=258, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=BOS, eos_token_id=EOS,
                         tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.1)
    return model


def make_adapter(base_dir, out_dir, seed, **lora):
    base = LlamaForCausalLM.from_pretrained(base_dir)
    model = get_peft_model(base, LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **lora))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.2)
    model.save_pretrained(out_dir)


def bits_and_greedy(model, sample):
    bits = 0.0
    with torch.no_grad():
        for start in range(0, len(sample), CHUNK_BYTES):
            chunk = list(sample[start:start + CHUNK_BYTES])
            ids = torch.tensor([[BOS] + chunk])
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            bits -= logp.gather(1, ids[0, 1:, None]).sum().item() / math.log(2)
        tokens = [BOS]
        for _ in range(GREEDY_TOKENS):
            next_id = int(model(torch.tensor([tokens])).logits[0, -1].argmax())
            if next_id == EOS:
                break
            tokens.append(next_id)
    return bits, tokens[1:]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    base_dir = out / "base"
    tiny_model().save_pretrained(base_dir)
    config = json.loads((base_dir / "config.json").read_text())
    config["lmc_tokenizer"] = "bytes"
    (base_dir / "config.json").write_text(json.dumps(config, indent=2))
    sample = ("Patient presents with acute chest pain; ECG shows ST elevation.\n" * 12).encode() + bytes(range(256))
    (base_dir / "sample.bin").write_bytes(sample)

    make_adapter(base_dir, out / "peft_qv", 1, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    make_adapter(base_dir, out / "peft_rslora", 2, r=8, lora_alpha=16, use_rslora=True,
                 target_modules=r".*\.(k_proj|o_proj|gate_proj|up_proj)")
    for name, model in {"other_hidden": tiny_model(hidden=32), "three_layers": tiny_model(layers=3)}.items():
        model.save_pretrained(out / (name + "_base"))
        make_adapter(out / (name + "_base"), out / name, 3, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])

    ids = torch.randint(0, 258, (2, 33), generator=torch.Generator().manual_seed(5))
    tensors = {"input_ids": ids}
    golden = {"chunk_bytes": CHUNK_BYTES, "bytes": len(sample), "bits": {}, "greedy": {}}
    for name in ["base", "peft_qv", "peft_rslora"]:
        model = LlamaForCausalLM.from_pretrained(base_dir, attn_implementation="eager")
        if name != "base":
            model = PeftModel.from_pretrained(model, out / name)
        model.eval()
        with torch.no_grad():
            tensors["logits_" + name] = model(ids).logits.float().contiguous()
        golden["bits"][name], golden["greedy"][name] = bits_and_greedy(model, sample)
    save_file(tensors, str(out / "golden.safetensors"))
    (out / "golden.json").write_text(json.dumps(golden, indent=2))


if __name__ == "__main__":
    main()
