"""An independent llama2.c reference: run.c's forward pass, tokenizer and greedy loop in numpy, reading the
llama2.c files directly (interleaved RoPE as run.c applies it), for lmc's `convert llama2c` and `generate`.

Usage: llama2c_reference.py OUT_DIR

Always writes (a random tiny model, so the formats are covered without real data):
  tiny_v0.bin         legacy format, untied classifier (negative vocab_size in the header)
  tiny_v1.bin         the same weights in llama2.c's version-1 format (export.py's version1_export layout)
  tiny_tok.bin        a 300-token vocabulary in tokenizer.bin format (3 specials, 256 bytes, 41 merges)
  tiny.safetensors    input_ids [1, 24] and run.c's logits [24, 300] for them
With ../shared/data (LMC_SHARED_DATA) present, also:
  stories260K.json    run.c at temperature 0 from BOS: 200 tokens and their text; and for the prompt
                      PROMPT: run.c's encoding of it and the 60 tokens that follow
  stories260K.safetensors  input_ids [1, 32] (BOS and the first 31 generated tokens) and their logits
"""
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

STEPS = 200
PROMPT = "Lily and Ben went to the beach"
PROMPT_STEPS = 60


class Llama2c:
    """run.c's Config + TransformerWeights + forward(), one token at a time with a KV cache."""

    def __init__(self, path):
        data = Path(path).read_bytes()
        if struct.unpack("I", data[:4])[0] == 0x616B3432:
            dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", data[8:36])
            shared, offset, version = data[36] != 0, 256, 1
        else:
            dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", data[:28])
            shared, offset, version = vocab > 0, 28, 0
            vocab = abs(vocab)
        self.dim, self.layers, self.heads, self.kv_heads, self.vocab = dim, layers, heads, kv_heads, vocab
        self.head_size = dim // heads
        kv_dim = kv_heads * self.head_size
        floats = np.frombuffer(data, dtype=np.float32, offset=offset)
        cursor = [0]

        def take(*shape):
            n = int(np.prod(shape))
            t = floats[cursor[0]:cursor[0] + n].reshape(shape)
            cursor[0] += n
            return t

        if version == 0:
            self.emb = take(vocab, dim)
            self.rms_att = take(layers, dim)
            self.wq, self.wk = take(layers, dim, dim), take(layers, kv_dim, dim)
            self.wv, self.wo = take(layers, kv_dim, dim), take(layers, dim, dim)
            self.rms_ffn = take(layers, dim)
            self.w1, self.w2, self.w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
            self.rms_final = take(dim)
            take(2, seq_len, self.head_size // 2)  # freq_cis_real, freq_cis_imag: run.c recomputes RoPE
        else:
            self.rms_att, self.rms_ffn, self.rms_final = take(layers, dim), take(layers, dim), take(dim)
            self.emb = take(vocab, dim)
            self.wq, self.wk = take(layers, dim, dim), take(layers, kv_dim, dim)
            self.wv, self.wo = take(layers, kv_dim, dim), take(layers, dim, dim)
            self.w1, self.w2, self.w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
        self.wcls = self.emb if shared else take(vocab, dim)
        assert cursor[0] == len(floats), "trailing data"
        self.key_cache = np.zeros((layers, seq_len, kv_dim), np.float32)
        self.value_cache = np.zeros((layers, seq_len, kv_dim), np.float32)

    @staticmethod
    def rmsnorm(x, weight):
        return weight * (x / np.sqrt(np.mean(x * x) + np.float32(1e-5)))

    def rope(self, vec, pos):
        # run.c: adjacent pairs (i, i+1) of each head, frequency 10000^(-(i mod head_size)/head_size).
        out = vec.copy()
        for i in range(0, len(vec), 2):
            freq = 1.0 / np.power(np.float32(10000.0), np.float32((i % self.head_size) / self.head_size))
            angle = np.float32(pos * freq)
            c, s = np.cos(angle), np.sin(angle)
            out[i] = vec[i] * c - vec[i + 1] * s
            out[i + 1] = vec[i] * s + vec[i + 1] * c
        return out

    def forward(self, token, pos):
        hs, group = self.head_size, self.heads // self.kv_heads
        x = self.emb[token].copy()
        for l in range(self.layers):
            xb = self.rmsnorm(x, self.rms_att[l])
            q = self.rope(self.wq[l] @ xb, pos)
            self.key_cache[l, pos] = self.rope(self.wk[l] @ xb, pos)
            self.value_cache[l, pos] = self.wv[l] @ xb
            att = np.zeros(self.dim, np.float32)
            for h in range(self.heads):
                kv = (h // group) * hs
                scores = self.key_cache[l, :pos + 1, kv:kv + hs] @ q[h * hs:(h + 1) * hs] / np.sqrt(np.float32(hs))
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                att[h * hs:(h + 1) * hs] = weights @ self.value_cache[l, :pos + 1, kv:kv + hs]
            x = x + self.wo[l] @ att
            xb = self.rmsnorm(x, self.rms_ffn[l])
            gate = self.w1[l] @ xb
            x = x + self.w2[l] @ (gate / (1 + np.exp(-gate)) * (self.w3[l] @ xb))
        return self.wcls @ self.rmsnorm(x, self.rms_final)


def read_tokenizer(path, vocab_size):
    data = Path(path).read_bytes()
    pos, pieces, scores = 4, [], []
    for _ in range(vocab_size):
        score, length = struct.unpack("fi", data[pos:pos + 8])
        pieces.append(data[pos + 8:pos + 8 + length])
        scores.append(score)
        pos += 8 + length
    return pieces, scores


def encode(text, pieces, scores):
    """run.c's encode(): BOS, a dummy-prefix space, one piece per UTF-8 character (bytes + 3 when the
    character has no piece), then repeatedly merge the adjacent pair whose merged piece scores best."""
    lookup = {p: i for i, p in enumerate(pieces)}
    tokens = [1]
    if text:
        tokens.append(lookup[b" "])
    raw = text.encode()
    i = 0
    while i < len(raw):
        n = 1
        while i + n < len(raw) and (raw[i + n] & 0xC0) == 0x80 and n < 4:
            n += 1
        char = raw[i:i + n]
        tokens += [lookup[char]] if char in lookup else [b + 3 for b in char]
        i += n
    while True:
        best, best_id, best_at = -1e10, -1, -1
        for at in range(1, len(tokens) - 1):
            merged = pieces[tokens[at]] + pieces[tokens[at + 1]]
            if merged in lookup and scores[lookup[merged]] > best:
                best, best_id, best_at = scores[lookup[merged]], lookup[merged], at
        if best_at < 0:
            return tokens
        tokens[best_at:best_at + 2] = [best_id]


def decode(prev, token, pieces):
    """run.c's decode(): no leading space after BOS, <0xNN> pieces are that byte."""
    piece = pieces[token]
    if prev == 1 and piece.startswith(b" "):
        piece = piece[1:]
    if len(piece) == 6 and piece.startswith(b"<0x") and piece.endswith(b">"):
        return bytes([int(piece[3:5], 16)])
    return piece


def greedy(model_path, prompt_tokens, steps, pieces):
    """run.c's generate() at temperature 0: the prompt is forced, then argmax; stops at BOS as run.c."""
    model = Llama2c(model_path)
    token, generated, text, logits = prompt_tokens[0], [], b"", []
    for pos in range(steps):
        step_logits = model.forward(token, pos)
        logits.append(step_logits)
        following = prompt_tokens[pos + 1] if pos + 1 < len(prompt_tokens) else int(np.argmax(step_logits))
        if following == 1:
            break
        if pos + 1 >= len(prompt_tokens):
            generated.append(following)
        text += decode(token, following, pieces)
        token = following
    return generated, text, np.stack(logits)


def write_tiny(out):
    rng = np.random.default_rng(11)
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = 32, 88, 2, 4, 2, 300, 64
    kv_dim = dim * kv_heads // heads
    w = {
        "emb": (vocab, dim), "rms_att": (layers, dim), "wq": (layers, dim, dim), "wk": (layers, kv_dim, dim),
        "wv": (layers, kv_dim, dim), "wo": (layers, dim, dim), "rms_ffn": (layers, dim),
        "w1": (layers, hidden, dim), "w2": (layers, dim, hidden), "w3": (layers, hidden, dim), "rms_final": (dim,),
        "cls": (vocab, dim),
    }
    w = {k: (rng.standard_normal(shape) * (0.3 if k.startswith("rms") else 0.2) + (1.0 if k.startswith("rms") else 0.0))
         .astype(np.float32) for k, shape in w.items()}
    head_size = dim // heads
    freqs = np.arange(seq_len)[:, None] * (10000.0 ** (-np.arange(0, head_size, 2) / head_size))[None, :]
    params = (dim, hidden, layers, heads, kv_heads)
    with open(out / "tiny_v0.bin", "wb") as f:  # export.py legacy_export, untied: -vocab_size
        f.write(struct.pack("7i", *params, -vocab, seq_len))
        for k in ["emb", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final"]:
            f.write(w[k].tobytes())
        f.write(np.cos(freqs).astype(np.float32).tobytes() + np.sin(freqs).astype(np.float32).tobytes())
        f.write(w["cls"].tobytes())
    with open(out / "tiny_v1.bin", "wb") as f:  # export.py version1_export
        f.write(struct.pack("I", 0x616B3432) + struct.pack("i", 1) + struct.pack("7i", *params, vocab, seq_len))
        f.write(struct.pack("B", 0))
        f.write(b"\0" * (256 - f.tell()))
        for k in ["rms_att", "rms_ffn", "rms_final", "emb", "wq", "wk", "wv", "wo", "w1", "w2", "w3", "cls"]:
            f.write(w[k].tobytes())
    pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [b"<0x%02X>" % b for b in range(256)]
    pieces += [bytes([c]) for c in b" etaoinsrhld"] + [b" t", b"he", b" the", b"in", b" a", b"er", b"an", b"on",
                                                       b"re", b" s", b"at", b"en", b"nd", b" and", b"ed", b"or",
                                                       b"es", b" h", b" o", b"is", b"it", b"ar", b"ing", b" w",
                                                       b"ou", b"ion", b" in", b"le", b"as"]
    assert len(pieces) == vocab
    with open(out / "tiny_tok.bin", "wb") as f:
        f.write(struct.pack("i", max(len(p) for p in pieces)))
        for i, p in enumerate(pieces):
            f.write(struct.pack("fi", 0.0 if i < 259 else -float(i - 259), len(p)) + p)
    ids = rng.integers(0, vocab, 24)
    model = Llama2c(out / "tiny_v0.bin")
    logits = np.stack([model.forward(int(t), pos) for pos, t in enumerate(ids)])
    save_file({"input_ids": ids[None].astype(np.int64), "logits": logits.astype(np.float32)},
              str(out / "tiny.safetensors"))


def write_stories(out, shared):
    folder = shared / "models" / "llama2c_stories260K"
    model_path = folder / "stories260K.bin"
    pieces, scores = read_tokenizer(folder / "tok512.bin", 512)
    tokens, text, logits = greedy(model_path, [1], STEPS, pieces)
    prompt_tokens = encode(PROMPT, pieces, scores)
    prompted, prompted_text, _ = greedy(model_path, prompt_tokens, len(prompt_tokens) - 1 + PROMPT_STEPS, pieces)
    (out / "stories260K.json").write_text(json.dumps({
        "steps": STEPS, "tokens": tokens, "text": text.decode("utf-8", "replace"),
        "prompt": PROMPT, "prompt_tokens": prompt_tokens, "prompt_continuation": prompted,
        "prompt_text": prompted_text.decode("utf-8", "replace")}, indent=2))
    ids = np.array([[1] + tokens[:31]], dtype=np.int64)
    save_file({"input_ids": ids, "logits": logits[:32].astype(np.float32)}, str(out / "stories260K.safetensors"))


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write_tiny(out)
    shared = Path(os.environ.get("LMC_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    if (shared / "models" / "llama2c_stories260K" / "stories260K.bin").exists():
        write_stories(out, shared)


if __name__ == "__main__":
    main()
