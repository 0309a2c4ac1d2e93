"""`lmc compress` on files that are not all text: how long it takes to find xz's archive for a binary,
and what it makes of text with a binary in the middle, against xz -9e.

Usage, from the repository root: python bench/bench_binary.py [--build build] [--threads 2]

Inputs, both made from files every checkout has:
  executable  the first 1 MiB of the lmc executable itself (x86-64 machine code, tables, strings).
  mixed       the first half of models/sample.txt (held-out English), 256 KiB of the lmc executable
              from offset 1 MiB, then the second half of sample.txt.
Each runs through `lmc compress` as a user runs it (xz's archive kept where smaller) and with
--model-only, each archive decompressed and compared with its input. Wall-clock seconds of the whole
command, model loading included. Writes bench/results/binary.json.
"""
import argparse
import json
import lzma
import os
import sys
import tempfile
from pathlib import Path

from results_file import write_result
from timed_command import timed

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "models" / "sample.txt"
MIB = 1 << 20


def measure(lmc, name, data, flags, threads, tmp):
    src, archive, back = tmp / name, tmp / f"{name}.lmc", tmp / f"{name}.back"
    src.write_bytes(data)
    out, compress_s = timed([lmc, "compress", *flags, "--threads", str(threads), "-k", "-f", "--json", "-o",
                             str(archive), str(src)])
    stats = json.loads(out)
    _, decompress_s = timed([lmc, "decompress", "-f", "-o", str(back), str(archive)])
    if back.read_bytes() != data:
        raise SystemExit(f"{name} {' '.join(flags)}: the round trip differs")
    row = {"flags": " ".join(flags) or "(default)", "archive": stats["mode"], "bytes_out": stats["bytes_out"],
           "stored_chunks": stats["stored_chunks"], "chunks": stats["chunks"], "tokens": stats["tokens"],
           "compress_seconds": round(compress_s, 2), "decompress_seconds": round(decompress_s, 2)}
    print(f"{name:10s} {row['flags']:12s}: {len(data)} -> {row['bytes_out']} ({row['archive']}), "
          f"compress {compress_s:.1f} s, decompress {decompress_s:.1f} s", file=sys.stderr)
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    lmc = str(Path(args.build).resolve() / "lmc")
    executable = Path(lmc).read_bytes()
    if len(executable) < MIB + 256 * 1024:
        raise SystemExit(f"{lmc} is smaller than the 1.25 MiB this benchmark takes from it")
    text = SAMPLE.read_bytes()
    half = len(text) // 2
    inputs = {"executable": executable[:MIB], "mixed": text[:half] + executable[MIB:MIB + 256 * 1024] + text[half:]}
    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in inputs.items():
            results[name] = {
                "bytes_in": len(data),
                "xz_9e_bytes": len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
                "runs": [measure(lmc, name, data, flags, args.threads, Path(tmp)) for flags in ([], ["--model-only"])],
            }
    write_result("binary", {
        "benchmark": "binary", "threads": args.threads, "cpus_online": os.cpu_count(),
        "machine": os.uname().machine,
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "inputs": results,
        "note": "wall-clock seconds of the whole lmc command (model loading included); the executable is "
                "this build's lmc, so its bytes differ between builds",
        "command": f"python bench/bench_binary.py --build {args.build} --threads {args.threads}",
    })


if __name__ == "__main__":
    main()
