"""Independent check of the shards `lmc prepare` wrote, with h5py, numpy and the real `flac` tool.

Usage: data_check_shards.py --out DIR --modality text|audio --inputs PATH... --chunk-bytes N
         --train-bytes SIZE --val-bytes SIZE [--jsonl-field F] [--tokenizer bytes|pairs|tiktoken:PATH|none]
         [--input-order]

Enumerates the input documents itself (os.walk, glob, tarfile, json, wave, `flac -d`), then checks that
train.h5/val.h5/test.h5 hold exactly those documents' bytes (pieces of a split document joined in split
order; audio rebuilt from the audio-as-string ASCII and the packed low bits), that the splits have the
requested sizes, that chunks never cross a document and are cut greedily at --chunk-bytes, and that every
chunk's token ids are the named tokenizer's. With --input-order, documents must appear in input order.
Exits 0 and prints "OK ..." on success; prints the first mismatch and exits 1 otherwise.
"""
import argparse
import glob
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import wave
from pathlib import Path

import h5py
import numpy as np

SPLITS = ("train", "val", "test")
AUDIO = (".wav", ".flac")


def fail(message):
    print("MISMATCH: " + message)
    sys.exit(1)


def flac_pcm(data):
    """(PCM bytes, (rate, channels, bits)) as `flac -d` gives them, in WAV's sample convention."""
    header = subprocess.run(["flac", "-s", "-c", "-d", "-"], input=data, capture_output=True, check=True).stdout[:36]
    channels = int.from_bytes(header[22:24], "little")
    rate = int.from_bytes(header[24:28], "little")
    bits = int.from_bytes(header[34:36], "little")
    sign = "unsigned" if bits == 8 else "signed"
    pcm = subprocess.run(["flac", "-s", "-c", "-d", "--force-raw-format", "--endian=little", f"--sign={sign}", "-"],
                         input=data, capture_output=True, check=True).stdout
    return pcm, (rate, channels, bits)


def wav_pcm(data):
    with wave.open(io.BytesIO(data), "rb") as r:
        return r.readframes(r.getnframes()), (r.getframerate(), r.getnchannels(), 8 * r.getsampwidth())


def documents_of(label, name, data, modality, field, docs):
    ext = os.path.splitext(name)[1].lower()
    if (ext in AUDIO) != (modality == "audio") or ext == ".tar":
        return
    if ext == ".jsonl":
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                docs.append((f"{label}:{number}", json.loads(line)[field].encode("utf-8"), None))
    elif ext == ".wav":
        docs.append((label, *wav_pcm(data)))
    elif ext == ".flac":
        docs.append((label, *flac_pcm(data)))
    else:
        docs.append((label, data, None))


def add_file(path, modality, field, docs):
    if path.lower().endswith(".tar"):
        with tarfile.open(path, "r") as t:
            for member in t.getmembers():
                if member.isfile():
                    documents_of(f"{path}:{member.name}", member.name, t.extractfile(member).read(), modality,
                                 field, docs)
    else:
        documents_of(path, path, Path(path).read_bytes(), modality, field, docs)


def expected_documents(inputs, modality, field):
    docs = []
    for item in inputs:
        paths = sorted(glob.glob(item)) if any(c in item for c in "*?[") and not os.path.exists(item) else [item]
        for path in paths:
            if os.path.isdir(path):
                found = []
                for root, dirs, files in os.walk(path):
                    dirs[:] = [d for d in dirs if not d.startswith(".")]
                    found += [os.path.join(root, f) for f in files if not f.startswith(".")]
                for f in sorted(found, key=lambda p: Path(p).parts):
                    add_file(f, modality, field, docs)
            else:
                add_file(path, modality, field, docs)
    return docs


def make_tokenizer(spec):
    if spec == "none":
        return None
    if spec == "bytes":
        return lambda b: list(b)
    if spec == "pairs":  # tests/data/pair_tokenizer.h: two lowercase letters -> 256 + 26a + b, else the byte
        def pairs(b):
            ids, i = [], 0
            while i < len(b):
                if i + 1 < len(b) and 97 <= b[i] <= 122 and 97 <= b[i + 1] <= 122:
                    ids.append(256 + 26 * (b[i] - 97) + (b[i + 1] - 97))
                    i += 2
                else:
                    ids.append(b[i])
                    i += 1
            return ids
        return pairs
    if spec.startswith("tiktoken:"):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
        ranks = load_tiktoken_bpe(spec[len("tiktoken:"):])
        pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                   r"|\s*[\r\n]+|\s+(?!\S)|\s+")
        enc = tiktoken.Encoding("llama3", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
        return lambda b: enc.encode_ordinary(b.decode("utf-8"))
    raise SystemExit(f"unknown tokenizer spec {spec}")


def resolve(size, total):
    if "." in size:
        return math.floor(float(size) * total)
    units = {"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
    digits = size.rstrip("bBkKmMgG")
    return int(digits) * units[size[len(digits):].lower()]


def check_file(path, split, args, tokenize, pieces):
    with h5py.File(path, "r") as f:
        a = f.attrs
        if a["format"] != "lmc-shard" or a["split"] != split or a["modality"] != args.modality:
            fail(f"{path}: attributes {dict(a)}")
        if int(a["chunk_bytes"]) != args.chunk_bytes:
            fail(f"{path}: chunk_bytes attribute {a['chunk_bytes']}")
        data = f["bytes"][:]
        doc_offsets, chunk_offsets = f["doc_offsets"][:], f["chunk_offsets"][:]
        tokens, token_offsets = f["tokens"][:], f["token_offsets"][:]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["doc_names"][:]]
        starts = f["doc_starts"][:]
        n_docs, n_chunks = len(names), len(chunk_offsets) - 1
        for key, value in (("n_documents", n_docs), ("n_chunks", n_chunks), ("n_bytes", len(data)),
                           ("n_tokens", len(tokens))):
            if int(a[key]) != value:
                fail(f"{path}: attribute {key}={a[key]}, datasets say {value}")
        if len(doc_offsets) != n_docs + 1 or len(starts) != n_docs or len(token_offsets) != n_chunks + 1:
            fail(f"{path}: dataset lengths disagree")
        if doc_offsets[0] != 0 or doc_offsets[-1] != len(data) or np.any(np.diff(doc_offsets) < 0):
            fail(f"{path}: bad doc_offsets")
        if chunk_offsets[0] != 0 or chunk_offsets[-1] != len(data) or np.any(np.diff(chunk_offsets) <= 0):
            fail(f"{path}: bad chunk_offsets")
        if token_offsets[0] != 0 or token_offsets[-1] != len(tokens) or np.any(np.diff(token_offsets) < 0):
            fail(f"{path}: bad token_offsets")
        # Greedy chunking inside each document: every chunk but a document's last is exactly chunk_bytes.
        expected_cuts = [0]
        for d in range(n_docs):
            begin, end = int(doc_offsets[d]), int(doc_offsets[d + 1])
            expected_cuts += list(range(begin + args.chunk_bytes, end, args.chunk_bytes))
            if end > begin:
                expected_cuts.append(end)
        if expected_cuts != [int(c) for c in chunk_offsets]:
            fail(f"{path}: chunk boundaries are not greedy {args.chunk_bytes}-byte cuts within documents")
        if tokenize:
            for c in range(n_chunks):
                chunk = data[chunk_offsets[c]:chunk_offsets[c + 1]].tobytes()
                got = tokens[token_offsets[c]:token_offsets[c + 1]].tolist()
                if got != tokenize(chunk):
                    fail(f"{path}: chunk {c} tokens {got[:12]}... differ from the tokenizer's {tokenize(chunk)[:12]}...")
        if args.modality == "audio":
            if a["lsb_bit_order"] != "msb-first":
                fail(f"{path}: lsb_bit_order {a['lsb_bit_order']}")
            bits = np.unpackbits(f["lsb_bits"][:])
            if len(f["lsb_bits"]) != (len(data) + 7) // 8 or np.any(bits[len(data):]):
                fail(f"{path}: /lsb_bits has {len(f['lsb_bits'])} bytes for {len(data)} characters")
            if np.any(data > 127):
                fail(f"{path}: audio-as-string character above 127")
            data = (data.astype(np.uint16) << 1 | bits[:len(data)]).astype(np.uint8)
            params = f["audio_params"][:]
            if params.shape != (n_docs, 3):
                fail(f"{path}: /audio_params shape {params.shape}")
        for d in range(n_docs):
            piece = data[doc_offsets[d]:doc_offsets[d + 1]].tobytes()
            extra = tuple(int(x) for x in f["audio_params"][d]) if args.modality == "audio" else None
            pieces.append((names[d], int(starts[d]), piece, extra, split))
        return len(data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--modality", required=True)
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--chunk-bytes", type=int, required=True)
    p.add_argument("--train-bytes", required=True)
    p.add_argument("--val-bytes", required=True)
    p.add_argument("--jsonl-field", default="text")
    p.add_argument("--tokenizer", default="none")
    p.add_argument("--input-order", action="store_true")
    args = p.parse_args()

    expected = expected_documents(args.inputs, args.modality, args.jsonl_field)
    total = sum(len(b) for _, b, _ in expected)
    want_sizes = [resolve(args.train_bytes, total), resolve(args.val_bytes, total)]
    want_sizes.append(total - sum(want_sizes))
    tokenize = make_tokenizer(args.tokenizer)

    pieces = []
    for split, want in zip(SPLITS, want_sizes):
        got = check_file(os.path.join(args.out, f"{split}.h5"), split, args, tokenize, pieces)
        if got != want:
            fail(f"{split}.h5 holds {got} bytes, expected {want}")

    params = {name: p for name, _, p in expected}
    joined, order = {}, []
    for name, start, piece, got_params, split in pieces:
        if name in params and got_params != params[name]:
            fail(f"{name}: audio parameters {got_params} in {split}, expected {params[name]}")
        if name not in joined:
            joined[name] = b""
            order.append(name)
        elif start == 0:
            fail(f"document {name} appears twice")
        if start != len(joined[name]):
            fail(f"{name}: piece in {split} starts at {start}, but {len(joined[name])} bytes came before it")
        joined[name] += piece
    want = {name: data for name, data, _ in expected}
    if set(joined) != set(want):
        fail(f"documents differ: missing {sorted(set(want) - set(joined))[:5]}, extra {sorted(set(joined) - set(want))[:5]}")
    for name, data in want.items():
        if joined[name] != data:
            first = next((i for i, (x, y) in enumerate(zip(joined[name], data)) if x != y), min(len(data), len(joined[name])))
            fail(f"{name}: {len(joined[name])} bytes rebuilt, {len(data)} expected, first difference at {first}")
    if args.input_order and order != [name for name, _, _ in expected]:
        fail(f"documents are not in input order: {order[:5]}...")
    print(f"OK {len(want)} documents, {total} bytes, splits {want_sizes}")


if __name__ == "__main__":
    main()
