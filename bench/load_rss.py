"""Peak resident memory while lmc loads a large checkpoint, against the checkpoint's size.

Usage: python bench/load_rss.py [--build build] [--layers 12]

A child Python writes a large fp32 LLaMA checkpoint with save_pretrained (random weights); then
`lmc eval` runs on a one-byte file, which loads every tensor and runs each layer once. The peak RSS of
that lmc process (getrusage) over the checkpoint's bytes goes to bench/results/load_rss.json; the goal
is <= 1.15. This process imports neither torch nor transformers: Linux charges a child the resident
size of the parent it was forked from, so a parent holding a model would inflate the measurement.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from results_file import write_result

ROOT = Path(__file__).resolve().parent.parent


def write_checkpoint(model_dir, layers):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5504, num_hidden_layers=layers,
                         num_attention_heads=16, num_key_value_heads=8, tie_word_embeddings=False)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0, 0.02)
    model.save_pretrained(model_dir, max_shard_size="10GB")
    config_json = json.loads((Path(model_dir) / "config.json").read_text())
    config_json["lmc_tokenizer"] = "bytes"
    (Path(model_dir) / "config.json").write_text(json.dumps(config_json))


def peak_rss_of(command):
    pid = os.posix_spawn(command[0], command, dict(os.environ),
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return usage.ru_maxrss * 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--write-checkpoint", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.write_checkpoint:
        write_checkpoint(args.write_checkpoint, args.layers)
        return
    lmc = str(Path(args.build) / "lmc")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        subprocess.run([sys.executable, __file__, "--layers", str(args.layers), "--write-checkpoint", str(model_dir)],
                       check=True, capture_output=True)
        checkpoint_bytes = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
        sample = Path(tmp) / "one.txt"
        sample.write_bytes(b"a")
        baseline = peak_rss_of([lmc, "info", str(model_dir)])
        peak = peak_rss_of([lmc, "eval", "--model", str(model_dir), str(sample)])
    result = {
        "benchmark": "load_rss", "checkpoint_bytes": checkpoint_bytes, "peak_rss_bytes": peak,
        "ratio": round(peak / checkpoint_bytes, 4), "goal": "<= 1.15",
        "process_baseline_rss_bytes": baseline,
        "note": "baseline: `lmc info` on the same directory (libraries mapped, no weights loaded)",
        "command": f"python bench/load_rss.py --layers {args.layers}",
    }
    write_result("load_rss", result)


if __name__ == "__main__":
    main()
