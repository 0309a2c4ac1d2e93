"""Reference ids of the real Llama 2 SentencePiece tokenizer, for test_tokenizers_shared.

Usage: tokenizer_llama2.py OUT_DIR

Reads LMC_SHARED_DATA (models/llama2_sentencepiece/tokenizer.model, text/**). Without it, writes
skipped.json and exits 0: the C++ tests skip. Otherwise writes into OUT_DIR:
  corpus.json   for every file under text/: the first PREFIX_BYTES bytes (cut back to a UTF-8 character
                boundary), the {count, crc32} of sentencepiece's ids for them, and whether sentencepiece's
                own decode gives the text back ("lossless"; lmc must then produce the same ids)
  whole.json    three whole files of 100-600 KB (the first such file of text/general, text/legal,
                text/medical) with {count, crc32} and the lossless flag: lmc encodes long inputs in
                segments and must match SentencePiece on the whole text
  fuzz.json     random Unicode strings (hex) with sentencepiece's ids and the same lossless flag
Prefixes for the rest, not whole files: SentencePiece's BPE runs at well under 1 MB/s.
"""
import sys
from pathlib import Path

import sentencepiece as spm

from tokenizer_common import fuzz_strings, ids_digest, shared_model, write_json

PREFIX_BYTES = 8192


def prefix(data):
    """The first PREFIX_BYTES bytes, cut back so no UTF-8 sequence is split (lmc's test cuts the same way)."""
    cut = min(PREFIX_BYTES, len(data))
    while 0 < cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    found = shared_model(out, "models/llama2_sentencepiece/tokenizer.model")
    if not found:
        return
    shared, model_path = found
    sp = spm.SentencePieceProcessor(model_file=str(model_path))

    corpus = []
    for path in sorted(p for p in (shared / "text").rglob("*") if p.is_file()):
        data = prefix(path.read_bytes())
        entry = {"path": str(path.relative_to(shared)), "prefix_bytes": len(data)}
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            entry["lossless"] = False
        else:
            ids = sp.encode(text)
            entry.update(ids_digest(ids))
            entry["lossless"] = sp.decode(ids) == text
        corpus.append(entry)
    write_json(out / "corpus.json", corpus)

    whole = []
    for domain in ("general", "legal", "medical"):
        path = next(p for p in sorted((shared / "text" / domain).rglob("*"))
                    if p.is_file() and 100_000 <= p.stat().st_size <= 600_000)
        text = path.read_bytes().decode("utf-8")
        ids = sp.encode(text)
        whole.append({"path": str(path.relative_to(shared)), **ids_digest(ids), "lossless": sp.decode(ids) == text})
    write_json(out / "whole.json", whole)

    fuzz = []
    for text in fuzz_strings(seed=23, count=2000, max_chars=60):
        ids = sp.encode(text)
        fuzz.append({"hex": text.encode().hex(), "ids": ids, "lossless": sp.decode(ids) == text})
    write_json(out / "fuzz.json", fuzz)


if __name__ == "__main__":
    main()
