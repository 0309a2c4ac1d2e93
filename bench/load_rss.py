"""Peak resident memory while lmc loads a large checkpoint, against the checkpoint's size.

Usage: python bench/load_rss.py [--build build] [--layers 12]

Writes a ~1.5 GB fp32 LLaMA checkpoint with save_pretrained (random weights), then runs
`lmc eval` on a one-byte file, which loads every tensor and runs them all once; the child's peak RSS
(getrusage) over the checkpoint's bytes goes to bench/results/load_rss.json. The goal is <= 1.15.
"""
import argparse
import json
import resource
import subprocess
import tempfile
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--layers", type=int, default=12)
    args = p.parse_args()
    config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5504, num_hidden_layers=args.layers,
                         num_attention_heads=16, num_key_value_heads=8, tie_word_embeddings=False)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        model = model.to_empty(device="cpu")
        with torch.no_grad():
            for param in model.parameters():
                param.normal_(0, 0.02)
        model.save_pretrained(model_dir, max_shard_size="10GB")
        del model
        checkpoint_bytes = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
        sample = Path(tmp) / "one.txt"
        sample.write_bytes(b"a")
        config_json = json.loads((model_dir / "config.json").read_text())
        config_json["lmc_tokenizer"] = "bytes"
        config_json["vocab_size"] = 32000
        (model_dir / "config.json").write_text(json.dumps(config_json))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([str(Path(args.build) / "lmc"), "eval", "--model", str(model_dir), str(sample)], check=True,
                       capture_output=True)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert peak_kib > before, "getrusage did not see the child"
    result = {
        "benchmark": "load_rss", "checkpoint_bytes": checkpoint_bytes, "peak_rss_bytes": peak_kib * 1024,
        "ratio": round(peak_kib * 1024 / checkpoint_bytes, 4), "goal": "<= 1.15",
        "command": f"python bench/load_rss.py --layers {args.layers}",
    }
    out = ROOT / "bench" / "results" / "load_rss.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
