"""Shared helpers of the tokenizer oracles (tokenizer_tiny.py, tokenizer_llama3.py, tokenizer_llama2.py).

Everything here is reference-side code: ids come from tiktoken, tokenizers and sentencepiece; this module
only builds their inputs (a tokenizer.json from tiktoken ranks, fuzz strings) and the compact golden
form lmc's C++ tests recompute: the id count and zlib.crc32 of the ids as little-endian int32.
"""
import json
import os
import random
import re
import unicodedata
import zlib
from pathlib import Path

import numpy as np

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Meta's llama3 tokenizer.py: 256 special tokens follow the ranks.
LLAMA3_SPECIALS = (["<|begin_of_text|>", "<|end_of_text|>"]
                   + [f"<|reserved_special_token_{i}|>" for i in range(4)]
                   + ["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
                   + [f"<|reserved_special_token_{i}|>" for i in range(5, 251)])


def ids_digest(ids):
    """{"count", "crc32"} of an id sequence: crc32 over the ids as little-endian int32."""
    return {"count": len(ids), "crc32": zlib.crc32(np.asarray(ids, dtype="<i4").tobytes())}


def bytes_to_unicode():
    """GPT-2's byte -> printable character map (as in tokenizers' ByteLevel)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping = {b: chr(b) for b in printable}
    shifted = 256
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(shifted)
            shifted += 1
    return mapping


def hf_bpe_from_ranks(ranks, pattern, specials, ignore_merges=True):
    """A tokenizers.Tokenizer holding the same byte-level BPE as tiktoken `ranks` (bytes -> rank).

    Merges: every split of a token into two tokens, ordered by the merged token's rank (ties by the ranks
    of the parts), which is how transformers converts tiktoken files. Specials become added tokens after
    the ranks, like Meta's layout.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    to_text = bytes_to_unicode()

    def text(token):
        return "".join(to_text[b] for b in token)

    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = []
    for token, rank in ranks.items():
        splits = sorted((ranks[token[:k]], ranks[token[k:]], k) for k in range(1, len(token))
                        if token[:k] in ranks and token[k:] in ranks)
        merges.extend((rank, left, right, token[:k], token[k:]) for left, right, k in splits)
    merges.sort(key=lambda m: m[:3])
    tokenizer = Tokenizer(models.BPE(vocab, [(text(a), text(b)) for *_, a, b in merges],
                                     ignore_merges=ignore_merges))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(name, special=True) for name in specials])
    return tokenizer


INVALID_BYTE = re.compile("([\udc80-\udcff])")


def encode_bytes(data, encode_text, byte_id):
    """Ids of arbitrary bytes under lmc's byte-level rule, from a reference text encoder.

    lmc cuts the input into maximal valid UTF-8 runs and single invalid bytes; Python's surrogateescape
    decoder makes the same cut (one lone surrogate per invalid byte). Runs go to the reference encoder,
    invalid bytes become their single-byte token.
    """
    ids = []
    for part in INVALID_BYTE.split(data.decode("utf-8", errors="surrogateescape")):
        if len(part) == 1 and 0xDC80 <= ord(part) <= 0xDCFF:
            ids.append(byte_id(ord(part) - 0xDC00))
        elif part:
            ids.extend(encode_text(part))
    return ids


def _assigned(cp):
    return unicodedata.category(chr(cp)) not in ("Cn", "Cs")


# Characters where regex engines and tokenizers tend to disagree: Unicode whitespace (including U+0085
# and U+180E, which PCRE2's \s treats differently), contractions with case folding, scripts, digits of
# other scripts, combining marks, emoji sequences, SentencePiece's U+2581, controls and NUL.
TRICKY = (list(" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\u180e\u200b")
          + ["'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'LL", "'d", "'\u017f", "\r\n", "\n\n", "  ", "\t\t"]
          + list("aZé߀ßΩЖ中日本한عह١५٣１\u0301\u2581\x00\x01\x1f\x7f.,;!?-_()[]{}<>'\"`~@#$%^&*+=/\\|0123456789")
          + ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "<|begin_of_text|>", "<|eot_id|>", "e\u0301", "ﬁ"])


def random_unicode_string(rng, max_chars):
    """A random string mixing tricky characters, ASCII words and random assigned code points."""
    parts = []
    for _ in range(rng.randint(0, max_chars)):
        roll = rng.random()
        if roll < 0.35:
            parts.append(rng.choice(TRICKY))
        elif roll < 0.6:
            parts.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                                 for _ in range(rng.randint(1, 8))))
        elif roll < 0.7:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 7))))
        else:
            plane_top = 0x10000 if rng.random() < 0.8 else 0x30000
            while True:
                cp = rng.randrange(0x20, plane_top)
                if _assigned(cp):
                    parts.append(chr(cp))
                    break
    return "".join(parts)


def fuzz_strings(seed, count, max_chars):
    rng = random.Random(seed)
    return [random_unicode_string(rng, max_chars) for _ in range(count)]


def shared_model(out, relative):
    """(shared data dir, model path) when LMC_SHARED_DATA holds `relative`; else writes skipped.json, None."""
    shared = Path(os.environ.get("LMC_SHARED_DATA", ""))
    model_path = shared / relative
    if not os.environ.get("LMC_SHARED_DATA") or not model_path.is_file():
        write_json(out / "skipped.json", {"reason": f"no {model_path}"})
        return None
    return shared, model_path


def write_json(path, value):
    path.write_text(json.dumps(value, indent=1, ensure_ascii=True))
