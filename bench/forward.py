"""Forward throughput, lmc against transformers, in one run on the same weights.

Usage: python bench/forward.py [--build build] [--threads 2] [--batch 4] [--length 512] [--repeats 5]

Makes a ~23M-parameter LLaMA (5 layers, hidden 512, 8 heads / 4 kv heads, vocab 8192), saves it with
save_pretrained, times transformers' forward and lmc's (bench_forward) with the same dtype, threads,
batch and length, and writes bench/results/forward.json with both numbers and their ratio.
"""
import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent


def time_transformers(model_dir, dtype, threads, batch, length, repeats):
    torch.set_num_threads(threads)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
    ids = torch.randint(0, model.config.vocab_size, (batch, length))
    with torch.inference_mode():
        model(ids)
        start = time.perf_counter()
        for _ in range(repeats):
            model(ids)
        seconds = time.perf_counter() - start
    return batch * length * repeats / seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--length", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    args = p.parse_args()
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]

    config = LlamaConfig(vocab_size=8192, hidden_size=512, intermediate_size=1376, num_hidden_layers=5,
                         num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=2048)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        parameters = sum(p.numel() for p in model.parameters())
        model.save_pretrained(tmp)
        del model
        hf = time_transformers(tmp, dtype, args.threads, args.batch, args.length, args.repeats)
        out = subprocess.run([str(Path(args.build) / "bench" / "bench_forward"), tmp, args.dtype, str(args.threads),
                              str(args.batch), str(args.length), str(args.repeats)],
                             check=True, capture_output=True, text=True).stdout
        lmc = json.loads(out)["tokens_per_second"]
    result = {
        "benchmark": "forward", "parameters": parameters, "dtype": args.dtype, "threads": args.threads,
        "batch": args.batch, "length": args.length, "repeats": args.repeats,
        "lmc_tokens_per_second": round(lmc, 1), "transformers_tokens_per_second": round(hf, 1),
        "ratio": round(lmc / hf, 3), "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "command": "python bench/forward.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "build"),
    }
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "forward.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
