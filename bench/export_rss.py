"""Peak resident memory of `lmc export` merging a LoRA adapter into a large checkpoint, against its size.

Usage: python bench/export_rss.py [--build build] [--layers 4]

A child Python writes the large fp32 LLaMA checkpoint of bench/load_rss.py (random weights; with 4
layers of hidden 2048 and a 32000-token vocabulary, about 1.3 GB) and a rank-16 PEFT adapter on all seven
projections with random factors. Then `lmc export --model BASE --adapter ADAPTER --out OUT` runs; its
peak RSS (getrusage of the child) over the checkpoint's bytes goes to bench/results/export_rss.json,
the goal being < 0.5. `lmc info` on the same directory is measured too: the process baseline (the
LibTorch libraries mapped, no weights touched), which no export can go below, is reported beside the
ratio, with the export's own working memory (peak - baseline). This process imports neither torch nor
transformers, so nothing of a parent's size is charged to the child.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from load_rss import peak_rss_of, write_checkpoint as write_base
from results_file import write_result

ROOT = Path(__file__).resolve().parent.parent


def write_checkpoint(model_dir, adapter_dir, layers):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, LlamaForCausalLM
    write_base(model_dir, layers)
    with torch.device("meta"):
        model = LlamaForCausalLM(AutoConfig.from_pretrained(model_dir))
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=targets, task_type="CAUSAL_LM"))
    peft = peft.to_empty(device="cpu")
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_" in name:
                param.normal_(0, 0.01)
    peft.save_pretrained(adapter_dir)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--write-checkpoint", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.write_checkpoint:
        write_checkpoint(*args.write_checkpoint, args.layers)
        return
    lmc = str(Path(args.build) / "lmc")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        model_dir, adapter_dir, out_dir = Path(tmp) / "model", Path(tmp) / "adapter", Path(tmp) / "merged"
        subprocess.run([sys.executable, __file__, "--layers", str(args.layers), "--write-checkpoint", str(model_dir),
                        str(adapter_dir)], check=True, capture_output=True)
        checkpoint_bytes = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
        baseline = peak_rss_of([lmc, "info", str(model_dir)])
        peak = peak_rss_of([lmc, "export", "--model", str(model_dir), "--adapter", str(adapter_dir),
                            "--out", str(out_dir)])
        exported_bytes = sum(f.stat().st_size for f in out_dir.glob("*.safetensors"))
    result = {
        "benchmark": "export_rss", "checkpoint_bytes": checkpoint_bytes, "exported_bytes": exported_bytes,
        "peak_rss_bytes": peak, "ratio": round(peak / checkpoint_bytes, 4), "goal": "< 0.5",
        "process_baseline_rss_bytes": baseline,
        "working_rss_bytes": peak - baseline,
        "working_ratio": round((peak - baseline) / checkpoint_bytes, 4),
        "note": "baseline: peak RSS of `lmc info` on the same directory (LibTorch loaded, no weights); "
                "working: the export's peak minus that baseline",
        "command": f"python bench/export_rss.py --build {args.build} --layers {args.layers}",
    }
    write_result("export_rss", result)


if __name__ == "__main__":
    main()
