"""Audio and archive inputs for lmc's data tests, made by independent tools.

Usage: data_inputs.py OUT_DIR

Writes into OUT_DIR:
  wav/pcm{8,16,24,32}_{mono,stereo}.wav   WAVs written by Python's `wave` module, with their frames in .pcm
  wav/extra_chunks.wav                    a 16-bit stereo WAV with odd-sized/LIST chunks before and after data
  wav/float32.wav, wav/adpcm.wav,
  wav/extensible_float.wav                non-PCM WAVs (hand-built headers) that lmc must reject
  wav/extensible_pcm.wav                  WAVE_FORMAT_EXTENSIBLE with the PCM sub-format (accepted)
  flac/*.flac                             the PCM WAVs encoded by the real `flac` tool; the raw PCM `flac -d`
                                          gives back (WAV's sample convention) in flac/*.pcm
  flac/corrupt.flac, flac/truncated.flac  a flac with flipped bytes in its audio frames, and one cut short
  tar/*.tar + tar/*.json                  tarfile archives (ustar, pax long names, GNU long names) and the
                                          members tarfile sees: name, data offset, size
  expected.json                           the format parameters of every audio file above
"""
import io
import json
import random
import struct
import subprocess
import sys
import tarfile
import wave
from pathlib import Path


def sine_frames(width, channels, n, rng):
    """Loud, noisy samples so every byte position takes many values."""
    lo, hi = (0, 255) if width == 1 else (-(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1)
    out = bytearray()
    for i in range(n):
        for c in range(channels):
            v = rng.randint(lo, hi)
            out += v.to_bytes(width, "little", signed=width > 1)
    return bytes(out)


def write_wav(path, width, channels, rate, frames):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


def riff(chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(tag, payload):
    pad = b"\0" if len(payload) % 2 else b""
    return tag + struct.pack("<I", len(payload)) + payload + pad


def fmt_chunk(tag, channels, rate, bits, extra=b""):
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    if extra:
        body += struct.pack("<H", len(extra)) + extra
    return chunk(b"fmt ", body)


def guid(tag):
    return struct.pack("<H", tag) + bytes([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71])


def main():
    out = Path(sys.argv[1])
    rng = random.Random(5)
    expected = {}
    (out / "wav").mkdir(parents=True, exist_ok=True)
    (out / "flac").mkdir(parents=True, exist_ok=True)
    (out / "tar").mkdir(parents=True, exist_ok=True)

    for width in (1, 2, 3, 4):
        for channels, label in ((1, "mono"), (2, "stereo")):
            name = f"pcm{8 * width}_{label}"
            rate = 8000 if width == 1 else 16000
            frames = sine_frames(width, channels, 1001, rng)  # odd frame count: odd data size for 8-bit mono
            write_wav(out / "wav" / f"{name}.wav", width, channels, rate, frames)
            with wave.open(str(out / "wav" / f"{name}.wav"), "rb") as r:
                (out / "wav" / f"{name}.pcm").write_bytes(r.readframes(r.getnframes()))
            expected[f"wav/{name}.wav"] = dict(sample_rate=rate, channels=channels, bits_per_sample=8 * width)

    frames = sine_frames(2, 2, 777, rng)
    data = riff([fmt_chunk(1, 2, 44100, 16), chunk(b"junk", b"odd"), chunk(b"LIST", b"INFOISFT\x05\0\0\0lmc!\0\0"),
                 chunk(b"data", frames), chunk(b"LIST", b"INFOICMT\x03\0\0\0hi\0\0")])
    (out / "wav" / "extra_chunks.wav").write_bytes(data)
    (out / "wav" / "extra_chunks.pcm").write_bytes(frames)
    expected["wav/extra_chunks.wav"] = dict(sample_rate=44100, channels=2, bits_per_sample=16)

    ext_pcm = struct.pack("<HI", 24, 0x3) + guid(1)
    frames = sine_frames(3, 2, 300, rng)
    (out / "wav" / "extensible_pcm.wav").write_bytes(
        riff([fmt_chunk(0xFFFE, 2, 48000, 24, ext_pcm), chunk(b"data", frames)]))
    (out / "wav" / "extensible_pcm.pcm").write_bytes(frames)
    expected["wav/extensible_pcm.wav"] = dict(sample_rate=48000, channels=2, bits_per_sample=24)

    floats = struct.pack("<400f", *[rng.uniform(-1, 1) for _ in range(400)])
    (out / "wav" / "float32.wav").write_bytes(riff([fmt_chunk(3, 1, 16000, 32), chunk(b"data", floats)]))
    (out / "wav" / "adpcm.wav").write_bytes(riff([fmt_chunk(2, 1, 16000, 4, b"\0" * 32), chunk(b"data", b"\0" * 256)]))
    ext_float = struct.pack("<HI", 32, 0x4) + guid(3)
    (out / "wav" / "extensible_float.wav").write_bytes(
        riff([fmt_chunk(0xFFFE, 1, 16000, 32, ext_float), chunk(b"data", floats)]))

    for width in (1, 2, 3):
        for label in ("mono", "stereo"):
            name = f"pcm{8 * width}_{label}"
            flac = out / "flac" / f"{name}.flac"
            subprocess.run(["flac", "-s", "-f", "-o", str(flac), str(out / "wav" / f"{name}.wav")], check=True)
            # Raw output in WAV's sample convention: 8-bit unsigned, wider signed, little-endian.
            sign = "unsigned" if width == 1 else "signed"
            subprocess.run(["flac", "-s", "-f", "-d", "--force-raw-format", "--endian=little", f"--sign={sign}",
                            "-o", str(out / "flac" / f"{name}.pcm"), str(flac)], check=True)
            expected[f"flac/{name}.flac"] = expected[f"wav/{name}.wav"]

    # flac pads its metadata with 8 KiB, so damage the audio frames, which sit at the end of the file.
    good = (out / "flac" / "pcm16_stereo.flac").read_bytes()
    corrupt = bytearray(good)
    for i in range(len(good) - 1500, len(good) - 1484):
        corrupt[i] ^= 0x5A
    (out / "flac" / "corrupt.flac").write_bytes(bytes(corrupt))
    (out / "flac" / "truncated.flac").write_bytes(good[: len(good) - 1000])

    for fmt, label in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.PAX_FORMAT, "pax"), (tarfile.GNU_FORMAT, "gnu")):
        path = out / "tar" / f"{label}.tar"
        with tarfile.open(path, "w", format=fmt) as t:
            def add(name, data):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            d = tarfile.TarInfo("docs")
            d.type = tarfile.DIRTYPE
            t.addfile(d)
            add("docs/a.txt", b"alpha\n" * 100)
            add("docs/empty.txt", b"")
            add("docs/block.txt", b"x" * 512)
            long_dir = "very_long_directory_name_" * 5  # > 100 bytes: ustar prefix, pax path, GNU 'L'
            add(f"{long_dir}/nested/b.xml", b"<a>b</a>\n")
            link = tarfile.TarInfo("docs/link.txt")
            link.type = tarfile.SYMTYPE
            link.linkname = "a.txt"
            t.addfile(link)
        with tarfile.open(path, "r") as t:
            members = [dict(name=m.name, offset=m.offset_data, size=m.size) for m in t.getmembers() if m.isfile()]
        (out / "tar" / f"{label}.json").write_text(json.dumps(members, indent=1))

    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
