"""The paper's tables at CPU scale: compression ratios on each domain's held-out test split.

Usage, from the repository root after bench/train_reference_models.sh:
    python bench/paper_tables.py [--build build] [--sample-bytes 262144] [--speech-bytes 300000] [--threads 2]
                                 [--batch auto]

For each domain it rebuilds the held-out test split exactly as the training recipes split their data
(`lmc prepare`, documents shuffled with seed 1: 80% train, 5% validation, 15% test; speech: the separate
LibriSpeech test-other utterances, decoded from FLAC to WAV) and takes its first --sample-bytes bytes
(speech: each speaker's shortest utterance, speakers in order, while they fit in --speech-bytes, at
least one). On that sample it measures the classic compressors with
their real command-line tools (gzip -9, bzip2 -9, xz -9e, zstd -19, and flac -8 --no-padding for audio), on the whole
sample and on every 2048-byte chunk compressed separately, and `lmc compress` with the default model
alone, with the domain's adapter and, for speech, with the byte-level audio model (models/audio),
checking every lmc archive decompresses to the original. Writes
bench/results/paper_tables.json, docs/results.md and the plots in docs/img/.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
CHUNK = 2048
NO_MATCH = " --no-match"
BASE = ("lmc base", "default", None)
# Each domain's lmc rows: (row name, model under models/, adapter under models/adapters/ or None).
DOMAINS = [
    {"name": "general", "inputs": SHARED / "text/general", "lmc": [BASE]},
    {"name": "medical", "inputs": SHARED / "text/medical", "lmc": [BASE, ("lmc + medical", "default", "medical")]},
    {"name": "legal", "inputs": SHARED / "text/legal", "lmc": [BASE, ("lmc + legal", "default", "legal")]},
    {"name": "speech", "flacs": SHARED / "audio/librispeech_test",
     "lmc": [BASE, ("lmc + speech", "default", "speech"), ("lmc audio model", "audio", None)]},
]
TOOLS = {
    "gzip -9": ["gzip", "-9", "-n", "-c"],
    "bzip2 -9": ["bzip2", "-9", "-c"],
    "xz -9e": ["xz", "-9e", "-c"],
    "zstd -19": ["zstd", "-19", "-q", "-c"],
}
# flac reads a WAV file whole; a 2048-byte piece of one is raw 16 kHz 16-bit mono PCM. --no-padding: by
# default the tool reserves 8 KiB of PADDING for tags added later, which is not audio and would count
# against flac (more than its whole output on a 2048-byte piece); `lmc eval --baselines` leaves it out too.
FLAC_WHOLE = ["flac", "-8", "--no-padding", "-s", "-c"]
FLAC_RAW = FLAC_WHOLE + ["--force-raw-format", "--endian=little", "--sign=signed", "--channels=1", "--bps=16",
                         "--sample-rate=16000", "-"]


def run(command, data=None):
    start = time.perf_counter()
    done = subprocess.run(command, input=data, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout, time.perf_counter() - start


def text_sample(lmc, domain, tmp, sample_bytes):
    out = tmp / f"{domain['name']}_split"
    run([lmc, "prepare", "--inputs", str(domain["inputs"]), "--modality", "text", "--train-bytes", "0.8",
         "--val-bytes", "0.05", "--seed", "1", "--out", str(out)])
    with h5py.File(out / "test.h5") as f:
        data = bytes(f["bytes"][:sample_bytes])
    path = tmp / f"{domain['name']}.txt"
    path.write_bytes(data)
    return [path]


def speech_sample(domain, tmp, sample_bytes):
    """Each speaker's shortest utterance, speakers in order, while they fit in sample_bytes (at least one):
    speakers differ more than utterances do (flac -8 ranges from 1.53 to 2.04 between them)."""
    shortest = {}
    for flac in sorted(domain["flacs"].glob("*.flac")):
        wav = tmp / (flac.stem + ".wav")
        run(["flac", "-d", "-s", "-f", "-o", str(wav), str(flac)])
        speaker = flac.stem.split("-")[0]
        if speaker not in shortest or wav.stat().st_size < shortest[speaker].stat().st_size:
            shortest[speaker] = wav
    paths, total = [], 0
    for speaker in sorted(shortest, key=int):  # LibriSpeech speaker IDs are numbers
        wav = shortest[speaker]
        if paths and total + wav.stat().st_size > sample_bytes:
            break
        paths.append(wav)
        total += wav.stat().st_size
    return paths


def chunks_of(data):
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


def classic(files, audio):
    tools = dict(TOOLS)
    if audio:
        tools["flac -8"] = None
    rows = {}
    for name, command in tools.items():
        whole = chunked = seconds = 0
        for path in files:
            data = path.read_bytes()
            out, elapsed = run(FLAC_WHOLE + [str(path)] if command is None else command, data)
            whole += len(out)
            seconds += elapsed
            if command is None:  # the WAV header stays raw; the PCM after it is cut into chunks
                chunked += 44 + sum(len(run(FLAC_RAW, piece)[0]) for piece in chunks_of(data[44:]))
            else:
                chunked += sum(len(run(command, piece)[0]) for piece in chunks_of(data))
        rows[name] = {"whole_bytes": whole, "chunked_bytes": chunked, "seconds": seconds}
    return rows


def lmc_row(lmc, files, tmp, mode, model_name, adapter, threads, batch, verify, match=True):
    total_out = total_seconds = decode_seconds = model_bits = 0.0
    model = ROOT / "models" / model_name
    for path in files:
        archive, restored = tmp / (path.name + ".lmc"), tmp / (path.name + ".out")
        command = [lmc, "compress", "--model", str(model), "--mode", mode, "--threads", str(threads), "--batch",
                   str(batch), "--model-only", "--json", "-k", "-f", "-o", str(archive), str(path)]
        if not match:
            command.append("--no-match")
        if adapter:
            command[2:2] = ["--adapter", str(ROOT / "models" / "adapters" / adapter)]
        stats = json.loads(run(command)[0])
        back = [lmc, "decompress", "--model", str(model), "--threads", str(threads), "-f", "-o", str(restored),
                str(archive)]
        if adapter:
            back[2:2] = ["--adapter", str(ROOT / "models" / "adapters" / adapter)]
        elapsed = 0.0
        if verify:
            _, elapsed = run(back)
            if restored.read_bytes() != path.read_bytes():
                raise SystemExit(f"lmc round trip of {path} is not exact")
        total_out += stats["bytes_out"]
        total_seconds += stats["seconds"]
        decode_seconds += elapsed
        model_bits += stats["model_bits_per_byte"] * (stats["bytes_in"] - stats["bypassed_bytes"])
    # With the match model a chunk's code depends on the archive's earlier chunks: not a chunked figure.
    return {"whole_bytes": int(total_out), "chunked_bytes": None if match else int(total_out), "seconds": total_seconds,
            "decompress_seconds": decode_seconds, "model_bits": model_bits}


def measure(args):
    lmc = str(Path(args.build).resolve() / "lmc")
    results = {"sample_bytes": args.sample_bytes, "speech_bytes": args.speech_bytes, "chunk_bytes": CHUNK,
               "threads": args.threads,
               "batch": args.batch, "verified": args.verify, "domains": {},
               "command": f"python bench/paper_tables.py --sample-bytes {args.sample_bytes} "
                          f"--speech-bytes {args.speech_bytes} "
                          f"--threads {args.threads} --batch {args.batch}" + ("" if args.verify else " --no-verify")}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for domain in DOMAINS:
            audio = "flacs" in domain
            files = speech_sample(domain, tmp, args.speech_bytes) if audio else text_sample(
                lmc, domain, tmp, args.sample_bytes)
            size = sum(p.stat().st_size for p in files)
            print(f"{domain['name']}: {len(files)} file(s), {size} bytes", flush=True)
            rows = classic(files, audio)
            mode = "audio" if audio else "text"
            for key, model_name, adapter in domain["lmc"]:
                run_args = (lmc, files, tmp, mode, model_name, adapter, args.threads, args.batch)
                # lmc codes audio without the match model by default, so its rows need no --no-match twin.
                rows[key] = lmc_row(*run_args, args.verify, match=not audio)
                if not audio:
                    rows[key + NO_MATCH] = lmc_row(*run_args, False, match=False)
            results["domains"][domain["name"]] = {"files": len(files), "bytes": size, "rows": rows}
            print(json.dumps(rows, indent=1), flush=True)
    return results


def ratio(size, compressed):
    return size / compressed if compressed else float("inf")


def cell(size, compressed):
    return "—" if compressed is None else f"{ratio(size, compressed):.3f}"


def verdicts(results):
    lines = []
    for name, d in results["domains"].items():
        rows, size = d["rows"], d["bytes"]
        best = min((r for k, r in rows.items() if k.startswith("lmc")), key=lambda r: r["whole_bytes"])
        lmc_ratio = ratio(size, best["whole_bytes"])
        if name == "speech":
            flac = ratio(size, rows["flac -8"]["whole_bytes"])
            lines.append(f"- speech: best lmc ratio {lmc_ratio:.3f} vs flac -8 {flac:.3f}: "
                         f"{'met' if lmc_ratio > flac else 'missed'} (target: above flac -8).")
        else:
            xz = ratio(size, rows["xz -9e"]["whole_bytes"])
            lines.append(f"- {name}: best lmc ratio {lmc_ratio:.3f} = {lmc_ratio / xz:.2f} x xz -9e's {xz:.3f}: "
                         f"{'met' if lmc_ratio >= 1.5 * xz else 'missed'} (target: 1.5 x).")
            alone = [r for k, r in rows.items() if k.endswith(NO_MATCH)]
            if alone:
                alone_ratio = ratio(size, min(r["whole_bytes"] for r in alone))
                xz_chunked = ratio(size, rows["xz -9e"]["chunked_bytes"])
                lines.append(f"- {name}, every chunk on its own (the papers' setting): best lmc --no-match ratio "
                             f"{alone_ratio:.3f} = {alone_ratio / xz_chunked:.2f} x chunked xz -9e's {xz_chunked:.3f}.")
        adapted = [k for k in rows if k.startswith("lmc + ") and not k.endswith(NO_MATCH)]
        for key in adapted:
            better = rows[key]["whole_bytes"] < rows["lmc base"]["whole_bytes"]
            lines.append(f"- {name}: {key} {'beats' if better else 'does not beat'} the base model "
                         f"({rows[key]['whole_bytes']} vs {rows['lmc base']['whole_bytes']} bytes).")
    general = results["domains"]["general"]
    speed = general["bytes"] / 1000 / general["rows"]["lmc base"]["seconds"]
    lines.append(f"- speed: the default model compresses general text at {speed:.1f} KB/s: "
                 f"{'met' if speed >= 10 else 'missed'} (target: 10 KB/s).")
    return lines


def plot(results, img):
    img.mkdir(parents=True, exist_ok=True)
    names = list(results["domains"])
    keys = ["gzip -9", "bzip2 -9", "xz -9e", "zstd -19", "flac -8", "lmc base", "lmc + adapter", "lmc audio model"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        values = []
        for name in names:
            d = results["domains"][name]
            row = d["rows"].get(key) or (d["rows"].get(f"lmc + {name}") if key == "lmc + adapter" else None)
            values.append(ratio(d["bytes"], row["whole_bytes"]) if row else 0)
        ax.bar([x + i * width for x in range(len(names))], values, width, label=key)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(names))], names)
    ax.set_ylabel("compression ratio (whole file)")
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    fig.savefig(img / "ratio_per_domain.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    def validations(path, offset=0):
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [(offset + r["step"], r["val_bpb"]) for r in records if "val_bpb" in r]

    def stages(model):  # each stage continues from the previous one's last step; metrics.jsonl is the last
        folder = ROOT / f"models/{model}"
        earlier = sorted(folder.glob("metrics_stage*.jsonl"), key=lambda p: int(p.stem.removeprefix("metrics_stage")))
        points = []
        for path in earlier + [folder / "metrics.jsonl"]:
            points += validations(path, points[-1][0] if points else 0)
        return points

    runs = [("default model (general)", stages("default"))]
    runs += [(f"{a} adapter", stages(f"adapters/{a}")) for a in ("medical", "legal", "speech")
             if (ROOT / f"models/adapters/{a}/metrics.jsonl").exists()]
    if (ROOT / "models/audio").is_dir():
        runs.append(("audio model (speech)", stages("audio")))
    for label, points in runs:
        ax.plot([s for s, _ in points], [v for _, v in points], marker="o", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("validation bits per byte")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(img / "val_bpb.png", dpi=110)
    plt.close(fig)


def markdown(results):
    out = ["# Results at CPU scale", "",
           "Written by `bench/paper_tables.py` (measured numbers only; rerun it to regenerate this page and",
           "`bench/results/paper_tables.json`). Models: `models/default`, `models/adapters/*` and `models/audio`, trained with",
           "`bench/train_reference_models.sh` on this 2-core CPU.", "",
           f"Each domain's sample is the first {results['sample_bytes']} bytes of its held-out test split "
           f"(speech: each LibriSpeech test-other speaker's shortest utterance, speakers in order, as 16-bit WAV, "
           f"while they fit in {results['speech_bytes']} bytes). Ratio = original "
           "bytes / compressed bytes; *chunked* compresses every 2048-byte chunk on its own; flac runs with "
           "`--no-padding` (its default 8 KiB of padding is room for tags, not audio). lmc's model "
           "always sees one 2048-byte chunk; for text its match model (the default) also predicts tokens that "
           "repeat the archive's earlier ones, so those rows are whole-file figures only, while the `--no-match` "
           "rows code every chunk on its own, as in the papers; audio is coded without the match model (the "
           "default for audio), every chunk on its own. The lmc rows run with `--model-only`, so they measure the "
           "model: by default `lmc compress` keeps xz -9e's stream, or for a WAV flac -8's, instead wherever it "
           "is the smaller archive (on this page, roughly wherever xz -9e's or flac -8's ratio is above lmc's). Speed is "
           "compression throughput in KB/s "
           f"(lmc: {results['threads']} threads, batch {results['batch']}).", "",
           f"Command: `{results['command']}`", ""]
    for name, d in results["domains"].items():
        out += [f"## {name} ({d['files']} file(s), {d['bytes']} bytes)", "",
                "| compressor | ratio (whole) | ratio (chunked) | bits/byte (whole) | KB/s |", "|---|---|---|---|---|"]
        for key, row in d["rows"].items():
            speed = d["bytes"] / 1000 / row["seconds"] if row["seconds"] else float("inf")
            out.append(f"| {key} | {ratio(d['bytes'], row['whole_bytes']):.3f} | "
                       f"{cell(d['bytes'], row['chunked_bytes'])} | "
                       f"{8 * row['whole_bytes'] / d['bytes']:.3f} | {speed:.1f} |")
        lmc_rows = {k: r for k, r in d["rows"].items() if k.startswith("lmc")}
        for key, row in lmc_rows.items():
            out.append("")
            decode = (f"; decompression {d['bytes'] / 1000 / row['decompress_seconds']:.1f} KB/s, round trip exact"
                      if row["decompress_seconds"] else " (not decompressed in this run)")
            out.append(f"{key}: model cross-entropy {row['model_bits'] / d['bytes']:.4f} bits/byte, coded "
                       f"{8 * row['whole_bytes'] / d['bytes']:.4f}{decode}.")
        out.append("")
    out += ["## Targets", ""] + verdicts(results) + ["",
            "![ratio per domain](img/ratio_per_domain.png)", "", "![validation bits per byte](img/val_bpb.png)", ""]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--sample-bytes", type=int, default=262144)
    p.add_argument("--speech-bytes", type=int, default=300000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", default="auto", help="lmc compress --batch: auto or a number of chunks")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip decompressing lmc's archives (halves the time; no decompression speed)")
    p.add_argument("--from-json", help="rewrite docs/results.md and the plots from a results file")
    args = p.parse_args()
    for tool in ("gzip", "bzip2", "xz", "zstd", "flac"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (scripts/setup.sh installs it)")
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
        if "speech_bytes" not in results:
            raise SystemExit(f"{args.from_json} predates flac --no-padding and the per-speaker speech sample: "
                             "measure again instead of rewriting the page from it")
    else:
        if not SHARED.is_dir():
            raise SystemExit(f"{SHARED} is absent: the tables need the shared data")
        results = measure(args)
        out = ROOT / "bench" / "results" / "paper_tables.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, ROOT / "docs" / "img")
    (ROOT / "docs" / "results.md").write_text(markdown(results))
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
