"""Tiny, self-contained tokenizers and their reference ids for lmc's core tokenizer tests (no shared data).

Usage: tokenizer_tiny.py OUT_DIR

Trains on a generated text and writes into OUT_DIR:
  tiny.tiktoken               a tiktoken rank file (the ranks of a byte-level BPE trained by tokenizers)
  hf_from_ranks/              tokenizer.json holding the same BPE as tiny.tiktoken (Llama 3 regex, merges
                              derived from the ranks, ignore_merges) + config.json naming BOS/EOS
  hf_trained/                 tokenizer.json as tokenizers' BpeTrainer writes it (ByteLevel with GPT-2's
                              regex, its own merges list, specials first) + tokenizer_config.json
  spm_lossless.model          SentencePiece BPE with lmc's lossless training options
  spm_default.model           SentencePiece BPE with the library defaults (NFKC, dummy prefix, whitespace
                              folding) plus byte fallback: not lossless by itself
  spm_llama_like.model        SentencePiece BPE configured like Llama 2's (identity, dummy prefix,
                              whitespace kept, byte fallback)
  spm_nobytes.model           SentencePiece unigram with the defaults and no byte pieces
  cases.json                  inputs (hex) with the ids tiktoken / tokenizers / sentencepiece give them;
                              for SentencePiece also whether its own decode reproduces the input
  long_cases.json             ~60 KB texts with sentencepiece's ids for the whole text (lmc encodes
                              long inputs in segments and must give the same ids)
"""
import base64
import io
import json
import random
import sys
from pathlib import Path

import sentencepiece as spm
import tiktoken
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from tokenizer_common import (LLAMA3_PATTERN, LLAMA3_SPECIALS, bytes_to_unicode, encode_bytes, fuzz_strings,
                              hf_bpe_from_ranks, write_json)

WORDS = ("the of and to in is was he that it his her you as had with for she not at but be my on have him "
         "which this all they were by from so said would when there one are could been what if an no more "
         "lossless compression language model token byte arithmetic coder entropy").split()


def training_text(seed=11, lines=1500):
    """English-like lines with numbers, punctuation, CRLF, indentation and some non-ASCII."""
    rng = random.Random(seed)
    extras = ["café", "naïve", "Ωmega", "日本語", "über", "😀", "3.14159", "2024-06-01", "'s", "don't", "I'll"]
    out = []
    for _ in range(lines):
        words = [rng.choice(WORDS) if rng.random() < 0.9 else rng.choice(extras) for _ in range(rng.randint(3, 14))]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        line = " ".join(words) + rng.choice([".", ",", "!", "?", ";", ""])
        if rng.random() < 0.1:
            line = "    " + line
        out.append(line + ("\r\n" if rng.random() < 0.2 else "\n"))
    return "".join(out)


def train_hf(text):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|bos|>", "<|eos|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    return tokenizer


def ranks_of(trained):
    """tiktoken ranks from a byte-level vocab: its tokens in id order, specials left out."""
    to_byte = {c: b for b, c in bytes_to_unicode().items()}
    added = {token.content for token in trained.get_added_tokens_decoder().values()}
    vocab = sorted((index, token) for token, index in trained.get_vocab().items() if token not in added)
    return {bytes(to_byte[c] for c in token): rank for rank, (_, token) in enumerate(vocab)}


def train_spm(text, path, **options):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text.splitlines()), model_writer=model,
                                   vocab_size=options.pop("vocab_size", 400), minloglevel=2, **options)
    path.write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    text = training_text()

    trained = train_hf(text)
    (out / "hf_trained").mkdir(exist_ok=True)
    trained.save(str(out / "hf_trained" / "tokenizer.json"))
    write_json(out / "hf_trained" / "tokenizer_config.json",
               {"bos_token": "<|bos|>", "eos_token": {"content": "<|eos|>"}})
    # The same model without its added tokens: lmc never matches added tokens inside text.
    ordinary = json.loads(trained.to_str())
    ordinary["added_tokens"] = []
    trained_ordinary = Tokenizer.from_str(json.dumps(ordinary))
    byte_text = bytes_to_unicode()

    ranks = ranks_of(trained)
    with open(out / "tiny.tiktoken", "w") as f:
        for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
            f.write(f"{base64.b64encode(token).decode()} {rank}\n")
    encoding = tiktoken.Encoding("tiny", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens={})

    (out / "hf_from_ranks").mkdir(exist_ok=True)
    hf_bpe_from_ranks(ranks, LLAMA3_PATTERN, LLAMA3_SPECIALS).save(str(out / "hf_from_ranks" / "tokenizer.json"))
    write_json(out / "hf_from_ranks" / "config.json",
               {"bos_token_id": len(ranks), "eos_token_id": [len(ranks) + 9, len(ranks) + 1]})
    from_ranks = hf_bpe_from_ranks(ranks, LLAMA3_PATTERN, [])

    lossless = train_spm(text, out / "spm_lossless.model", model_type="bpe", normalization_rule_name="identity",
                         add_dummy_prefix=False, remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
                         split_digits=True, byte_fallback=True)
    default = train_spm(text, out / "spm_default.model", model_type="bpe", byte_fallback=True)
    llama_like = train_spm(text, out / "spm_llama_like.model", model_type="bpe", normalization_rule_name="identity",
                           remove_extra_whitespaces=False, byte_fallback=True)
    nobytes = train_spm(text, out / "spm_nobytes.model", vocab_size=150)
    spm_models = (("spm_lossless", lossless), ("spm_default", default), ("spm_llama_like", llama_like),
                  ("spm_nobytes", nobytes))

    fixed = ["", "This is a test sentence.", "Hello world", " Hello", "  leading and trailing  ", "a\r\nb\rc\n\n\nd",
             "I'll say it's 12345678 o'clock!", "'S 'ſ 'LL", "<|begin_of_text|>hi<|eot_id|>", "x\u0085y\u180ez\u2028w",
             "café naïve über 日本語 😀 👨\u200d👩\u200d👧", " " * 300 + "x", "\t" * 50, "\x00nul\x00",
             "\u2581word \u2581", "ﬁve ｆｕｌｌ", "3.14159 2024-06-01", "\n" * 40]
    inputs = [s.encode() for s in fixed + fuzz_strings(seed=5, count=400, max_chars=40)]
    rng = random.Random(9)
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 24))) for _ in range(150)]
    inputs += [b"abc\xff def", b"\xe2\x82", b"ok\xc3(\xa9\xed\xa0\x80\xf4\x90\x80\x80\xc0\xafend", b"\x80" * 5]

    cases = []
    for data in inputs:
        case = {
            "hex": data.hex(),
            "tiktoken": encode_bytes(data, encoding.encode_ordinary, lambda b: ranks[bytes([b])]),
            "hf_from_ranks": encode_bytes(data, lambda s: from_ranks.encode(s, add_special_tokens=False).ids,
                                          lambda b: ranks[bytes([b])]),
            "hf_trained": encode_bytes(data, lambda s: trained_ordinary.encode(s, add_special_tokens=False).ids,
                                       lambda b: trained.token_to_id(byte_text[b])),
        }
        try:
            text_in = data.decode("utf-8")
        except UnicodeDecodeError:
            text_in = None
        for name, sp in spm_models:
            if text_in is not None:
                ids = sp.encode(text_in)
                case[name] = {"ids": ids, "lossless": sp.decode(ids) == text_in}
        cases.append(case)
    write_json(out / "cases.json", cases)

    long_cases = []
    for seed in (21, 22, 23):
        long_text = training_text(seed=seed, lines=800).replace("    ", "  \t  ", 7) + " end  \n"
        entry = {"text": long_text}
        for name, sp in spm_models:
            ids = sp.encode(long_text)
            entry[name] = {"ids": ids, "lossless": sp.decode(ids) == long_text}
        long_cases.append(entry)
    write_json(out / "long_cases.json", long_cases)


if __name__ == "__main__":
    main()
