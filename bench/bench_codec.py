"""Compression and decompression throughput of `lmc compress` / `lmc decompress`, batch 1 against larger
batches, with the default model and with a ~21M-parameter LLaMA.

Usage, from the repository root: python bench/bench_codec.py [--build build] [--threads 2]

Two models:
  default   models/default (5.8M parameters, its SentencePiece tokenizer): speed and its real ratio on
            models/sample.txt, 24 KB of held-out text (12 chunks, so batches above 12 change nothing).
  21M       hidden 512, 6 layers, 8 heads / 4 kv heads, MLP 1536, the default model's 4096-piece
            tokenizer, random weights (a speed measurement only: its ratio means nothing). Input: sample.txt
            repeated, 2 x batch chunks per batch size (at least 4), so every batch runs full twice.
Every archive is decompressed and compared with its input. Wall-clock seconds of the whole command,
model loading included; the coder alone is bench_coder's (bench/results/coder.json). Writes
bench/results/codec.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from results_file import write_result
from timed_command import timed

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "models" / "sample.txt"
CHUNK = 2048


def write_21m_model(model_dir):
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=4096, hidden_size=512, intermediate_size=1536, num_hidden_layers=6,
                         num_attention_heads=8, num_key_value_heads=4, tie_word_embeddings=True,
                         max_position_embeddings=2048, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(config)
    model.save_pretrained(model_dir)
    shutil.copy(ROOT / "models" / "default" / "tokenizer.model", Path(model_dir) / "tokenizer.model")


def parameter_count(model_dir):
    config = json.loads((Path(model_dir) / "config.json").read_text())
    h, i, v, n = config["hidden_size"], config["intermediate_size"], config["vocab_size"], config["num_hidden_layers"]
    kv = h // config["num_attention_heads"] * config["num_key_value_heads"]
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i + 2 * h
    head = 0 if config.get("tie_word_embeddings") else v * h
    return v * h + n * per_layer + h + head


def measure(lmc, model_dir, data, batch, threads, tmp):
    src, archive, back = tmp / "in.txt", tmp / "in.txt.lmc", tmp / "back.txt"
    src.write_bytes(data)
    out, compress_s = timed([lmc, "compress", "--model", str(model_dir), "--batch", str(batch), "--threads",
                             str(threads), "-k", "-f", "--json", "-o", str(archive), str(src)])
    stats = json.loads(out)
    _, decompress_s = timed([lmc, "decompress", "--model", str(model_dir), "--threads", str(threads), "-f",
                             "-o", str(back), str(archive)])
    if back.read_bytes() != data:
        raise SystemExit(f"round trip failed at batch {batch}")
    return {
        "batch": batch, "bytes_in": len(data), "chunks": -(-len(data) // CHUNK), "tokens": stats["tokens"],
        "bytes_out": stats["bytes_out"], "ratio": round(stats["ratio"], 4),
        "coded_bits_per_byte": round(stats["bits_per_byte"], 4),
        "model_bits_per_byte": round(stats["model_bits_per_byte"], 4),
        "compress_kb_per_s": round(len(data) / 1000 / compress_s, 3),
        "decompress_kb_per_s": round(len(data) / 1000 / decompress_s, 3),
        "compress_tokens_per_s": round(stats["tokens"] / compress_s, 1),
        "compress_seconds": round(compress_s, 3), "decompress_seconds": round(decompress_s, 3),
    }


def run_model(lmc, name, model_dir, batches, inputs, threads, tmp):
    rows = []
    for batch in batches:
        row = measure(lmc, model_dir, inputs(batch), batch, threads, tmp)
        print(f"{name:8s} batch {batch:3d}: {row['bytes_in']:7d} B, compress {row['compress_kb_per_s']:7.2f} KB/s, "
              f"decompress {row['decompress_kb_per_s']:7.2f} KB/s, ratio {row['ratio']:.3f}", file=sys.stderr)
        rows.append(row)
    best = max(rows, key=lambda r: r["compress_kb_per_s"])
    return {"model": str(model_dir), "parameters": parameter_count(model_dir), "runs": rows,
            "best_batch": best["batch"],
            "best_over_batch_1": round(best["compress_kb_per_s"] / rows[0]["compress_kb_per_s"], 3)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--write-21m", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.write_21m:
        write_21m_model(args.write_21m)
        return
    lmc = str(Path(args.build).resolve() / "lmc")
    sample = SAMPLE.read_bytes()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_21m = tmp / "model_21m"
        subprocess.run([sys.executable, __file__, "--write-21m", str(model_21m)], check=True, capture_output=True)
        default = run_model(lmc, "default", ROOT / "models" / "default", [1, 4, 12], lambda b: sample,
                            args.threads, tmp)
        default["model"] = "models/default"
        repeated = sample * 8

        def chunks_for(batch):
            return repeated[:CHUNK * max(4, 2 * batch)]

        big = run_model(lmc, "21M", model_21m, [1, 4, 16, 32, 64], chunks_for, args.threads, tmp)
        big["model"] = "random-weight LLaMA, hidden 512, 6 layers, MLP 1536, vocab 4096 (tied)"
    write_result("codec", {
        "benchmark": "codec", "threads": args.threads, "cpus_online": os.cpu_count(),
        "machine": os.uname().machine,
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "default_model": default, "model_21m": big,
        "note": "wall-clock seconds of the whole lmc command (model load included); KB = 1000 bytes",
        "command": f"python bench/bench_codec.py --build {args.build} --threads {args.threads}",
    })


if __name__ == "__main__":
    main()
