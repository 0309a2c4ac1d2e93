"""Writes a tiny randomly initialised LLaMA with lmc's byte tokenizer, for the set-up's demo run.

Usage: make_tiny_model.py OUT_DIR

It predicts nothing useful (random weights): it only shows the pipeline working end to end until the
trained default model ships under models/.
"""
import json
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    out = Path(sys.argv[1])
    config = LlamaConfig(vocab_size=258, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=256, eos_token_id=257)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    cfg = json.loads((out / "config.json").read_text())
    cfg["lmc_tokenizer"] = "bytes"
    (out / "config.json").write_text(json.dumps(cfg, indent=2))


if __name__ == "__main__":
    main()
