"""Training throughput and MFU, lmc against the equivalent PyTorch Python loop, in one run.

Usage: [taskset -c CPUS] python bench/bench_train.py [--build build] [--threads 2] [--steps 12] [--rounds 2]

Both sides train the same ~20M-parameter byte-level LLaMA from the same random start on the same text:
full fine-tune, fp32, AdamW, batches of 4 chunks of 512 bytes (BOS + 512 byte tokens each), loss in bits
per byte. lmc runs its real `lmc train` (recipe, HDF5 shards, logging) and reports per-step tokens/s in
metrics.jsonl; the reference is transformers' LlamaForCausalLM in a Python loop timed the same way
(forward, loss, backward, optimizer step), once with torch.optim.AdamW's default (what a loop usually
says) and once with fused=True (the kernel lmc calls), so the optimizer's share is visible. The first
steps (allocator warm-up) and the last (it runs a validation) are left out; each side's median step
speed is taken, the better of `--rounds` alternating rounds (the machine may be shared). MFU is training
FLOPs per second (6 N + 12 L H T per token, N the non-embedding parameters, PaLM's count) over the peak
this CPU reaches in a large fp32 matmul with the same threads, measured here too. Run under `taskset` to
pin both sides (lmc inherits the affinity) to CPUs another job is not using; the CPUs and the load
average are recorded with the numbers. Writes bench/results/train.json.
"""
import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from results_file import write_result

ROOT = Path(__file__).resolve().parent.parent
ARCH = dict(vocab_size=258, hidden_size=512, intermediate_size=1376, num_hidden_layers=7, num_attention_heads=8,
            num_key_value_heads=4, max_position_embeddings=1024, bos_token_id=256, eos_token_id=257)
BATCH = 4
CHUNK = 512
LR = 1e-4


def make_text(path, n):
    rng = random.Random(0)
    words = ("compression language model arithmetic coder bits per byte training chunk token adapter rank "
             "gradient optimizer schedule warmup cosine validation checkpoint the of and to in a is").split()
    out, size = [], 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    path.write_bytes(" ".join(out).encode()[:n])


def lmc_speed(build, work, text, threads, steps):
    arch = ", ".join(f"{k}: {v}" for k, v in ARCH.items())
    recipe = work / "bench.yaml"
    recipe.write_text(
        f"model: {{architecture: {{{arch}}}, init_seed: 0}}\n"
        f"tokenizer: bytes\n"
        f"data: {{inputs: ['{text}'], train_size: '0.9', val_size: '0.05', chunk_bytes: {CHUNK}, eval_chunks: 4,"
        f" codec_chunks: 0}}\n"
        f"optimizer: {{lr: {LR}, weight_decay: 0.0}}\n"
        f"batch_size: {BATCH}\nmax_steps: {steps}\ncheckpoint_every: 0\nthreads: {threads}\n"
        f"output_dir: '{work / 'run'}'\n")
    subprocess.run(["rm", "-rf", str(work / "run")], check=True)
    subprocess.run([str(Path(build) / "lmc"), "train", str(recipe)], check=True, capture_output=True)
    records = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    speeds = [r["tokens_per_second"] for r in records if 2 < r["step"] < steps]
    return statistics.median(speeds)


def torch_speed(text, threads, steps, fused):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**ARCH, tie_word_embeddings=False)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, fused=fused)
    data = text.read_bytes()
    chunks = [data[i:i + CHUNK] for i in range(0, len(data) - CHUNK, CHUNK)]
    speeds = []
    for step in range(1, steps):
        batch = chunks[step * BATCH:(step + 1) * BATCH]
        start = time.perf_counter()
        ids = torch.tensor([[ARCH["bos_token_id"]] + list(c[:-1]) for c in batch])
        targets = torch.tensor([list(c) for c in batch])
        logits = model(input_ids=ids).logits
        nats = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum")
        (nats / math.log(2) / targets.numel()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step > 2:
            speeds.append(targets.numel() / (time.perf_counter() - start))
    return statistics.median(speeds), model


def matmul_peak(threads, n=4096, repeats=2):
    """FLOP/s of a large fp32 matmul: the best of a few timings, as other load only ever slows it."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start))
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        text = work / "text.txt"
        make_text(text, 400_000)
        lmc, ref, ref_fused, peaks = [], [], [], []
        for _ in range(args.rounds):
            peaks.append(matmul_peak(args.threads))
            lmc.append(lmc_speed(args.build, work, text, args.threads, args.steps))
            speed, model = torch_speed(text, args.threads, args.steps, fused=None)
            ref.append(speed)
            ref_fused.append(torch_speed(text, args.threads, args.steps, fused=True)[0])
    parameters = sum(p.numel() for p in model.parameters())
    non_embedding = parameters - model.model.embed_tokens.weight.numel()
    flops_per_token = 6 * non_embedding + 12 * ARCH["num_hidden_layers"] * ARCH["hidden_size"] * CHUNK
    peak = max(peaks)
    best_lmc, best_ref = max(lmc), max(ref)
    result = {
        "benchmark": "train", "parameters": parameters, "non_embedding_parameters": non_embedding,
        "architecture": ARCH, "dtype": "fp32", "threads": args.threads, "batch": BATCH, "chunk_bytes": CHUNK,
        "tokens_per_step": BATCH * CHUNK, "steps": args.steps, "rounds": args.rounds,
        "lmc_tokens_per_second": round(best_lmc, 1), "pytorch_tokens_per_second": round(best_ref, 1),
        "ratio": round(best_lmc / best_ref, 3),
        "pytorch_fused_adamw_tokens_per_second": round(max(ref_fused), 1),
        "ratio_to_fused_adamw": round(best_lmc / max(ref_fused), 3),
        "optimizers": {"lmc": "torch's fused AdamW kernel (at::_fused_adamw_)",
                       "pytorch": "torch.optim.AdamW() default (per-op on CPU)",
                       "pytorch_fused_adamw": "torch.optim.AdamW(fused=True)"},
        "lmc_rounds": [round(x, 1) for x in lmc], "pytorch_rounds": [round(x, 1) for x in ref],
        "pytorch_fused_adamw_rounds": [round(x, 1) for x in ref_fused],
        "flops_per_token": flops_per_token, "measured_matmul_peak_gflops": round(peak / 1e9, 2),
        "lmc_mfu": round(best_lmc * flops_per_token / peak, 4), "pytorch_mfu": round(best_ref * flops_per_token / peak, 4),
        "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "cpu_affinity": cpus, "cpus_online": os.cpu_count(),
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "command": (f"taskset -c {','.join(map(str, cpus))} " if len(cpus) < os.cpu_count() else "") +
                   f"python bench/bench_train.py --threads {args.threads} --steps {args.steps} --rounds {args.rounds}",
    }
    write_result("train", result)


if __name__ == "__main__":
    main()
