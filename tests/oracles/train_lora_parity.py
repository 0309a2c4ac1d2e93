"""Reference LoRA training run with transformers + peft + torch.optim.AdamW for lmc's parity test.

Usage: train_lora_parity.py OUT_DIR

Writes a tiny random LLaMA (base/, byte tokenizer), a text file (train.txt), a PEFT adapter to start from
(init_adapter/: PEFT's initialisation with B perturbed so both factors train from step one), then trains
that adapter for 20 steps exactly as lmc's recipe describes: chunks of 64 bytes in file order, BOS first,
2 chunks per micro-batch, 2 micro-batches per step, loss = cross-entropy in bits over the step's bytes,
AdamW, linear warmup + cosine (transformers' schedule). Writes golden.json (per-step loss in bits per byte,
validation bits per byte before and after) and final_adapter/ (PEFT save_pretrained).
"""
import json
import math
import random
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM, get_cosine_schedule_with_warmup

BOS = 256
CHUNK = 64
TRAIN_BYTES = 5120
VAL_BYTES = 1024
BATCH = 2
ACCUM = 2
STEPS = 20
HYPER = dict(lr=5e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, warmup=3, rank=4, alpha=8)
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_text(n):
    rng = random.Random(5)
    words = ("the patient was given a dose of the drug and the trial showed that blood pressure fell in most "
             "of the cases while heart rate and weight did not change over the twelve weeks of study").split()
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rng.choice(words) + ("." if rng.random() < 0.1 else ""))
    return " ".join(out).encode()[:n]


def chunk_bits(model, chunks):
    """Sum of -log2 p over every byte of each chunk (BOS first), and the bytes."""
    ids = torch.tensor([[BOS] + list(c[:-1]) for c in chunks])
    targets = torch.tensor([list(c) for c in chunks])
    logits = model(input_ids=ids).logits
    nats = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum")
    return nats / math.log(2), sum(len(c) for c in chunks)


def validation_bpb(model, chunks):
    model.eval()
    with torch.no_grad():
        bits = bytes_ = 0.0
        for i in range(0, len(chunks), BATCH):
            b, n = chunk_bits(model, chunks[i:i + BATCH])
            bits += b.item()
            bytes_ += n
    model.train()
    return bits / bytes_


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=258, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=BOS, eos_token_id=257, tie_word_embeddings=False)
    base = LlamaForCausalLM(config)
    base.save_pretrained(out / "base")
    cfg = json.loads((out / "base" / "config.json").read_text())
    cfg["lmc_tokenizer"] = "bytes"
    (out / "base" / "config.json").write_text(json.dumps(cfg, indent=2))

    text = make_text(TRAIN_BYTES + VAL_BYTES + 512)
    (out / "train.txt").write_bytes(text)
    train = [text[i:i + CHUNK] for i in range(0, TRAIN_BYTES, CHUNK)]
    val = [text[i:i + CHUNK] for i in range(TRAIN_BYTES, TRAIN_BYTES + VAL_BYTES, CHUNK)]

    lora = LoraConfig(r=HYPER["rank"], lora_alpha=HYPER["alpha"], lora_dropout=0.0, target_modules=MODULES,
                      task_type="CAUSAL_LM")
    model = get_peft_model(base, lora)
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
    model.save_pretrained(out / "init_adapter")

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=HYPER["lr"], betas=HYPER["betas"], eps=HYPER["eps"],
                                  weight_decay=HYPER["weight_decay"])
    schedule = get_cosine_schedule_with_warmup(optimizer, HYPER["warmup"], STEPS)
    model.train()
    val_initial = validation_bpb(model, val)
    losses = []
    for step in range(STEPS):
        micro_batches = []
        for j in range(ACCUM):
            first = (step * ACCUM + j) * BATCH
            micro_batches.append(train[first:first + BATCH])
        step_bytes = sum(len(c) for mb in micro_batches for c in mb)
        total_bits = 0.0
        for mb in micro_batches:
            bits, _ = chunk_bits(model, mb)
            (bits / step_bytes).backward()
            total_bits += bits.item()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(total_bits / step_bytes)
    val_final = validation_bpb(model, val)
    model.save_pretrained(out / "final_adapter")
    (out / "golden.json").write_text(json.dumps(
        {"losses": losses, "val_initial": val_initial, "val_final": val_final, "steps": STEPS, "batch_size": BATCH,
         "accumulation": ACCUM, "chunk_bytes": CHUNK, "train_bytes": TRAIN_BYTES, "val_bytes": VAL_BYTES,
         "hyper": HYPER}, indent=2))


if __name__ == "__main__":
    main()
