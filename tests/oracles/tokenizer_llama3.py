"""Reference ids of the real Llama 3 tokenizer on the shared text corpus, for test_tokenizers_shared.

Usage: tokenizer_llama3.py OUT_DIR

Reads LMC_SHARED_DATA (models/llama3_tiktoken/tokenizer.model, text/**). Without it, writes skipped.json
and exits 0: the C++ tests skip. Otherwise writes into OUT_DIR:
  hf/tokenizer.json, hf/config.json   a tokenizer.json built with tokenizers from the same ranks (merges
                                      derived from the ranks, the Llama 3 regex, 256 added specials) and
                                      a config.json naming BOS 128000 / EOS 128001
  corpus.json                         for every file under text/ (the .tar files too, as raw bytes): its
                                      size and the {count, crc32} of the ids from tiktoken and tokenizers
  fuzz.json                           random Unicode strings and random bytes (hex) with both libraries' ids
Files are encoded whole. Invalid UTF-8 (none in the corpus today) follows lmc's documented rule: the
reference encodes each valid run and each invalid byte becomes its byte token (tokenizer_common.encode_bytes).
tokenizers needs ~1 minute for the ~100 MB corpus, so results are cached: stamp.json records a hash of
this script, its helper, the library versions and the data files' names, sizes and mtimes; a matching
stamp skips the work.
"""
import hashlib
import json
import random
import sys
from pathlib import Path

import tiktoken
import tokenizers
from tiktoken.load import load_tiktoken_bpe

from tokenizer_common import (LLAMA3_PATTERN, LLAMA3_SPECIALS, encode_bytes, fuzz_strings, hf_bpe_from_ranks,
                              ids_digest, shared_model, write_json)

HERE = Path(__file__).resolve().parent


def stamp_of(shared, files):
    h = hashlib.sha256()
    for script in (Path(__file__).resolve(), HERE / "tokenizer_common.py"):
        h.update(script.read_bytes())
    h.update(f"{tiktoken.__version__} {tokenizers.__version__}".encode())
    for path in [shared / "models/llama3_tiktoken/tokenizer.model"] + files:
        st = path.stat()
        h.update(f"{path.relative_to(shared)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    found = shared_model(out, "models/llama3_tiktoken/tokenizer.model")
    if not found:
        return
    shared, model_path = found
    files = sorted(p for p in (shared / "text").rglob("*") if p.is_file())
    stamp = stamp_of(shared, files)
    if (out / "stamp.json").is_file() and json.loads((out / "stamp.json").read_text()).get("stamp") == stamp:
        return
    (out / "stamp.json").unlink(missing_ok=True)

    ranks = load_tiktoken_bpe(str(model_path))
    encoding = tiktoken.Encoding("llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens={})
    byte_rank = lambda b: ranks[bytes([b])]
    (out / "hf").mkdir(exist_ok=True)
    hf_bpe_from_ranks(ranks, LLAMA3_PATTERN, LLAMA3_SPECIALS).save(str(out / "hf" / "tokenizer.json"))
    write_json(out / "hf" / "config.json", {"bos_token_id": 128000, "eos_token_id": 128001})
    # Ids come from the same BPE without added tokens: lmc never matches special tokens inside text.
    hf = hf_bpe_from_ranks(ranks, LLAMA3_PATTERN, [])
    hf_ids = lambda s: hf.encode(s, add_special_tokens=False).ids

    corpus = []
    batch = []

    def flush():
        texts = [data.decode("utf-8") for _, data in batch if is_utf8(data)]
        hf_batch = iter(hf.encode_batch(texts, add_special_tokens=False))
        for rel, data in batch:
            if is_utf8(data):
                expected_tt = encoding.encode_ordinary(data.decode("utf-8"))
                expected_hf = next(hf_batch).ids
            else:
                expected_tt = encode_bytes(data, encoding.encode_ordinary, byte_rank)
                expected_hf = encode_bytes(data, hf_ids, byte_rank)
            corpus.append({"path": rel, "bytes": len(data), "tiktoken": ids_digest(expected_tt),
                           "hf": ids_digest(expected_hf)})
        batch.clear()

    for path in files:
        batch.append((str(path.relative_to(shared)), path.read_bytes()))
        if len(batch) == 16:
            flush()
    flush()
    write_json(out / "corpus.json", corpus)

    rng = random.Random(17)
    inputs = [s.encode() for s in fuzz_strings(seed=13, count=3000, max_chars=60)]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) for _ in range(300)]
    fuzz = [{"hex": data.hex(), "tiktoken": encode_bytes(data, encoding.encode_ordinary, byte_rank),
             "hf": encode_bytes(data, hf_ids, byte_rank)} for data in inputs]
    write_json(out / "fuzz.json", fuzz)
    write_json(out / "stamp.json", {"stamp": stamp})


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


if __name__ == "__main__":
    main()
