"""Tokenization throughput, one thread: lmc against Hugging Face tokenizers and tiktoken on the same text.

Usage: python bench/bench_tokenize.py [--build build] [--data /work/shared/data] [--max-bytes 65536]
                                      [--repeats 3]

Documents: the first --max-bytes of every file under DATA/text (Gutenberg, legal XML, MedQuAD tars),
cut back to a UTF-8 boundary. Llama 3: tiktoken (encode_ordinary) and tokenizers (a tokenizer.json built
from the same ranks, as tests/oracles/tokenizer_common.py does) against lmc on the tiktoken file and on
that tokenizer.json. Llama 2: sentencepiece against lmc on the first 8 KiB of each file. Every library
encodes every document separately, --repeats passes, best pass; token counts are reported to show all
encode the same thing. Writes bench/results/tokenize.json.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_result  # noqa: E402

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sentencepiece  # noqa: E402
import tiktoken  # noqa: E402
import tokenizers  # noqa: E402
from tiktoken.load import load_tiktoken_bpe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "oracles"))
from tokenizer_common import LLAMA3_PATTERN, LLAMA3_SPECIALS, hf_bpe_from_ranks  # noqa: E402


def document(path, max_bytes):
    data = path.read_bytes()
    cut = min(max_bytes, len(data))
    while 0 < cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut].decode("utf-8")


def best_pass(encode, texts, repeats):
    best, tokens = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        tokens = sum(len(encode(t)) for t in texts)
        best = min(best, time.perf_counter() - start)
    size = sum(len(t.encode()) for t in texts)
    return {"bytes": size, "tokens": tokens, "seconds": best, "mb_per_s": size / 1e6 / best}


def run_lmc(build, files, max_bytes, repeats, tokenizer_paths):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(str(p) for p in files))
    args = [str(Path(build) / "bench" / "bench_tokenize"), "--files", f.name, "--max-bytes", str(max_bytes),
            "--repeats", str(repeats)]
    for path in tokenizer_paths:
        args += ["--tokenizer", str(path)]
    try:
        return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    finally:
        os.unlink(f.name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--max-bytes", type=int, default=65536)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    data = Path(args.data)
    files = sorted(f for f in (data / "text").rglob("*") if f.is_file())
    llama3 = data / "models/llama3_tiktoken/tokenizer.model"
    llama2 = data / "models/llama2_sentencepiece/tokenizer.model"

    ranks = load_tiktoken_bpe(str(llama3))
    encoding = tiktoken.Encoding("llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens={})
    hf = hf_bpe_from_ranks(ranks, LLAMA3_PATTERN, LLAMA3_SPECIALS)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(llama2))
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = Path(tmp) / "llama3_hf"
        hf_dir.mkdir()
        hf.save(str(hf_dir / "tokenizer.json"))
        texts = [document(f, args.max_bytes) for f in files]
        lmc3 = run_lmc(args.build, files, args.max_bytes, args.repeats, [llama3, hf_dir])
        short_texts = [document(f, 8192) for f in files]
        lmc2 = run_lmc(args.build, files, 8192, args.repeats, [llama2])

    llama3_results = {
        "tiktoken": best_pass(encoding.encode_ordinary, texts, args.repeats),
        "tokenizers": best_pass(lambda t: hf.encode(t, add_special_tokens=False).ids, texts, args.repeats),
        "lmc_tiktoken_file": {k: lmc3[0][k] for k in ("bytes", "tokens", "seconds", "mb_per_s")},
        "lmc_tokenizer_json": {k: lmc3[1][k] for k in ("bytes", "tokens", "seconds", "mb_per_s")},
    }
    llama2_results = {
        "sentencepiece": best_pass(sp.encode, short_texts, args.repeats),
        "lmc": {k: lmc2[0][k] for k in ("bytes", "tokens", "seconds", "mb_per_s")},
    }
    lmc_best = llama3_results["lmc_tiktoken_file"]["mb_per_s"]
    result = {
        "what": "encode throughput, one thread, MB/s of UTF-8 input; documents = file prefixes of shared/data/text",
        "documents": len(files),
        "max_bytes": args.max_bytes,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average": os.getloadavg()},
        "versions": {"tiktoken": tiktoken.__version__, "tokenizers": tokenizers.__version__,
                     "sentencepiece": sentencepiece.__version__},
        "llama3": llama3_results,
        "llama2": llama2_results,
        "ratios": {
            "lmc_vs_tokenizers": lmc_best / llama3_results["tokenizers"]["mb_per_s"],
            "lmc_json_vs_tokenizers": llama3_results["lmc_tokenizer_json"]["mb_per_s"]
            / llama3_results["tokenizers"]["mb_per_s"],
            "lmc_vs_tiktoken": lmc_best / llama3_results["tiktoken"]["mb_per_s"],
            "lmc_vs_sentencepiece": llama2_results["lmc"]["mb_per_s"] / llama2_results["sentencepiece"]["mb_per_s"],
        },
    }
    write_result("tokenize", result)


if __name__ == "__main__":
    main()
