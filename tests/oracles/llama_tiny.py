"""Golden logits from transformers' LlamaForCausalLM for lmc's model tests.

Usage: llama_tiny.py OUT_DIR

Writes, for each tiny random configuration, a Hugging Face model directory saved with save_pretrained
(one file, or sharded) and golden.safetensors holding the input ids, the fp32 logits from transformers,
and bf16 logits from transformers for the same weights. lmc's tests load the directories with their own
code and compare. Also writes `bytes_model/`, a byte-tokenizer model, with `eval_golden.json`: the
cross-entropy (bits) transformers gives each 2048-byte chunk of a sample text, BOS first, and
`micro_bytes_model/`, a one-layer byte model small enough to code tens of megabytes in a test.
"""
import json
import math
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = {
    # GQA 4/2, llama3 rope scaling whose bands all fall inside head_dim 16, untied, one file.
    "untied_llama3": dict(
        vocab_size=300, hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, rope_theta=500000.0, tie_word_embeddings=False, shard=None,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 32},
        bos_token_id=1, eos_token_id=[2, 3]),
    # Tied embeddings, explicit head_dim unlike hidden/heads, biases, sharded save.
    "tied_sharded": dict(
        vocab_size=257, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, head_dim=24, rope_theta=10000.0, tie_word_embeddings=True,
        attention_bias=True, mlp_bias=True, shard="30KB", bos_token_id=0, eos_token_id=1),
}


def build(name, spec, out: Path, generator):
    spec = dict(spec)
    shard = spec.pop("shard")
    config = LlamaConfig(**spec)
    torch.manual_seed(1234 + len(name))
    model = LlamaForCausalLM(config).eval()
    # Random init leaves norms at one and is tiny elsewhere: perturb every parameter so all of them matter.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.1)
    model_dir = out / name
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(model_dir, **kwargs)

    ids = torch.randint(0, config.vocab_size, (2, 41), generator=generator)
    with torch.no_grad():
        eager = LlamaForCausalLM.from_pretrained(model_dir, attn_implementation="eager").eval()
        fp32 = eager(ids).logits.float()
        bf16_model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16,
                                                      attn_implementation="eager").eval()
        bf16 = bf16_model(ids).logits
    save_file({"input_ids": ids.contiguous(), "logits_fp32": fp32.contiguous(), "logits_bf16": bf16.contiguous()},
              str(model_dir / "golden.safetensors"))

    # The same model with the older top-level rope layout must give the same logits in transformers too.
    legacy_dir = out / (name + "_legacy_rope")
    shutil.copytree(model_dir, legacy_dir, dirs_exist_ok=True)
    cfg = json.loads((legacy_dir / "config.json").read_text())
    rope = cfg.pop("rope_parameters", None) or {}
    cfg["rope_theta"] = rope.pop("rope_theta", cfg.get("rope_theta", 10000.0))
    cfg["rope_scaling"] = rope if rope.get("rope_type", "default") != "default" else None
    (legacy_dir / "config.json").write_text(json.dumps(cfg, indent=2))
    with torch.no_grad():
        legacy = LlamaForCausalLM.from_pretrained(legacy_dir, attn_implementation="eager").eval()(ids).logits
    assert torch.allclose(legacy, fp32, atol=1e-6), f"{name}: transformers reads the legacy rope layout differently"


def save_byte_model(config, seed, generator, scale, model_dir):
    """A random model with lmc's byte tokenizer (ids 0..255 = bytes, 256 BOS, 257 EOS), saved to model_dir."""
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * scale)
    model.save_pretrained(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["lmc_tokenizer"] = "bytes"
    (model_dir / "config.json").write_text(json.dumps(cfg, indent=2))
    return model


def build_bytes_model(out: Path, generator):
    """A byte-tokenizer model and transformers' bits per chunk."""
    config = LlamaConfig(vocab_size=258, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=256, eos_token_id=257,
                         tie_word_embeddings=False)
    model_dir = out / "bytes_model"
    model = save_byte_model(config, 7, generator, 0.1, model_dir)

    sample = ("The quick brown fox jumps over the lazy dog.\r\n" * 30 + "caf\u00e9 \u2603 \x00\xff").encode("utf-8")
    sample += bytes(range(256))
    (model_dir / "sample.bin").write_bytes(sample)
    chunk_bytes = 512
    chunks = []
    with torch.no_grad():
        for start in range(0, len(sample), chunk_bytes):
            chunk = sample[start:start + chunk_bytes]
            ids = torch.tensor([[256] + list(chunk)])
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            nats = -logp.gather(1, ids[0, 1:, None]).sum().item()
            chunks.append({"bytes": len(chunk), "bits": nats / math.log(2)})
    total_bits = sum(c["bits"] for c in chunks)
    (model_dir / "eval_golden.json").write_text(json.dumps(
        {"chunk_bytes": chunk_bytes, "bytes": len(sample), "bits": total_bits,
         "bits_per_byte": total_bits / len(sample), "chunks": chunks}, indent=2))


def build_micro_bytes_model(out: Path, generator):
    """The smallest byte model the step kernels take (head_dim 8), for round trips of tens of megabytes."""
    config = LlamaConfig(vocab_size=258, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, bos_token_id=256, eos_token_id=257,
                         tie_word_embeddings=True)
    save_byte_model(config, 11, generator, 0.3, out / "micro_bytes_model")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(42)
    for name, spec in CONFIGS.items():
        build(name, spec, out, generator)
    build_bytes_model(out, generator)
    build_micro_bytes_model(out, generator)


if __name__ == "__main__":
    main()
