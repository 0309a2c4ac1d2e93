"""Golden safetensors files from the reference `safetensors` library for lmc's reader and writer tests.

Usage: safetensors_golden.py OUT_DIR

Writes into OUT_DIR:
  dtypes.safetensors   save_file() of every dtype torch and safetensors share (special values, random bit
                       patterns, odd shapes, scalars, zero-size tensors), with extra metadata;
  expected.json        each tensor as the reference reads it back, encoded by `encode` below;
  sharded/             huggingface_hub.save_torch_state_dict() of those tensors in small shards, and
  single/              the same into one model.safetensors (no index);
  cases/*.safetensors  hand-made edge and corrupt files, and cases.json saying, for each, whether the
                       reference loads it (with the tensors it gives) or the error it raises.
safetensors_check.py imports `encode` to check files lmc writes against expected.json.
"""
import json
import math
import struct
import sys
from pathlib import Path

import torch
from huggingface_hub import save_torch_state_dict
from safetensors import safe_open
from safetensors.torch import load_file, save_file

FLOAT_SPECIALS = [0.0, -0.0, 1.0, -1.5, 1.0 / 3.0, 65504.0, 1e-8, -1e-30, math.inf, -math.inf, math.nan]
SUB_BYTE = {"F4", "F6_E2M3", "F6_E3M2"}


def encode(tensor, dtype_name):
    """A tensor as exact JSON: shape, dtype facts, values (nan/inf as strings) and raw little-endian bits."""
    flat = tensor.reshape(-1)
    raw = bytes(flat.contiguous().view(torch.uint8).tolist()) if flat.numel() else b""
    size = tensor.element_size()
    out = {
        "dtype": dtype_name,
        "shape": list(tensor.shape),
        "itemsize": size,
        "is_floating_point": tensor.is_floating_point(),
        "is_complex": tensor.is_complex(),
        "is_signed": tensor.dtype.is_signed,
        "bits": [int.from_bytes(raw[i:i + size], "little") for i in range(0, len(raw), size)],
    }
    if tensor.is_complex():
        values = torch.view_as_real(flat).double().reshape(-1).tolist()
    elif tensor.is_floating_point():
        values = flat.double().tolist()
    else:
        values = flat.tolist()
    out["values"] = [str(v) if isinstance(v, float) and not math.isfinite(v) else v for v in values]
    return out


def encode_file(path):
    """Every tensor of a file as the reference reads it, keyed by name; sub-byte dtypes listed apart."""
    tensors = load_file(str(path))
    encoded, sub_byte = {}, []
    with safe_open(str(path), framework="pt") as f:
        for name in f.keys():
            dtype_name = f.get_slice(name).get_dtype()
            if dtype_name in SUB_BYTE:
                sub_byte.append(name)
            else:
                encoded[name] = encode(tensors[name], dtype_name)
    return encoded, sub_byte


def random_bits(generator, shape, dtype):
    """Uniformly random bit patterns (NaN payloads, subnormals, every exponent) viewed as `dtype`."""
    size = torch.empty((), dtype=dtype).element_size()
    count = math.prod(shape) * size
    data = torch.randint(0, 256, (count,), dtype=torch.uint8, generator=generator)
    return data.view(dtype).reshape(shape)


def dtype_tensors(generator):
    floats = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
    float8 = [torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz, torch.float8_e5m2fnuz, torch.float8_e8m0fnu]
    ints = [torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.uint16, torch.uint32, torch.uint64]
    tensors = {}
    for dtype in floats:
        name = str(dtype).removeprefix("torch.")
        tensors[f"{name}.random_bits"] = random_bits(generator, (3, 5, 7), dtype)
        tensors[f"{name}.specials"] = torch.tensor(FLOAT_SPECIALS, dtype=torch.float64).to(dtype)
        tensors[f"{name}.normal"] = torch.randn((4, 3), generator=generator, dtype=torch.float64).to(dtype)
        tensors[f"{name}.scalar"] = torch.tensor(-2.75, dtype=dtype)
    for dtype in float8:
        tensors[f"{str(dtype).removeprefix('torch.')}.random_bits"] = random_bits(generator, (2, 9), dtype)
    for dtype in ints:
        name = str(dtype).removeprefix("torch.")
        tensors[f"{name}.random_bits"] = random_bits(generator, (7, 3), dtype)
        tensors[f"{name}.scalar"] = torch.tensor(5, dtype=dtype)
    tensors["bool.values"] = torch.tensor([[True, False, True], [False, False, True]])
    tensors["complex64.values"] = torch.complex(torch.randn(5, generator=generator), torch.randn(5, generator=generator))
    tensors["float32.empty"] = torch.zeros((0,), dtype=torch.float32)
    tensors["bfloat16.empty_2x0x3"] = torch.zeros((2, 0, 3), dtype=torch.bfloat16)
    tensors["int64.empty"] = torch.zeros((0, 4), dtype=torch.int64)
    tensors["uint8.one"] = torch.tensor([201], dtype=torch.uint8)
    return tensors


def header_file(header, data=b""):
    """A safetensors file from a header (dict or raw bytes) and a data buffer, unpadded."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def cases(valid: bytes):
    """Edge and corrupt files, by name. `valid` is a small correct file from save_file."""
    header_len = struct.unpack("<Q", valid[:8])[0]
    data_start = 8 + header_len
    f32 = lambda shape, begin, end: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}
    u8 = lambda shape, begin, end: {"dtype": "U8", "shape": shape, "data_offsets": [begin, end]}
    one = {"a": u8([1], 0, 1)}
    return {
        # Loaded by the reference: lmc must load them too, with the same tensors.
        "no_metadata": header_file(one, b"\x2a"),
        "empty_header": header_file(b"{}"),
        "leading_and_trailing_spaces": header_file(b"  " + json.dumps(one).encode() + b" " * 13, b"\x2a"),
        "extra_entry_field": header_file({"a": dict(u8([1], 0, 1), extra=[1, 2])}, b"\x2a"),
        "zero_size_tensors_unsorted": header_file({"z": u8([0], 1, 1), "a": u8([1], 0, 1), "y": u8([3, 0], 0, 0)}, b"\x2a"),
        "unaligned_f32": header_file({"u": u8([1], 0, 1), "f": f32([2], 1, 9)}, b"\x07" + struct.pack("<ff", 1.5, -2.0)),
        "sub_byte_f4": header_file({"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}, b"\x12\x34"),
        # Refused by the reference: lmc must refuse them with a clear message.
        "empty_file": b"",
        "shorter_than_length": valid[:5],
        "truncated_in_header": valid[:8 + header_len // 2],
        "truncated_at_data_start": valid[:data_start],
        "truncated_in_data": valid[:data_start + (len(valid) - data_start) // 2],
        "truncated_last_byte": valid[:-1],
        "trailing_bytes": valid + b"\0\0\0\0",
        "header_length_past_eof": struct.pack("<Q", header_len + 4096) + valid[8:],
        "header_length_huge": struct.pack("<Q", 200_000_000) + valid[8:],
        "header_length_zero": struct.pack("<Q", 0) + valid[8:],
        "garbage_header": header_file(b"this is not json"),
        "header_not_object": header_file(b"[1, 2, 3]"),
        "header_nul_padding": header_file(json.dumps(one).encode() + b"\0\0\0", b"\x2a"),
        "invalid_utf8": header_file(b'{"a\xff": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', b"\x2a"),
        "unknown_dtype": header_file({"x": {"dtype": "F8_E9", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
        "lowercase_dtype": header_file({"x": f32([1], 0, 4) | {"dtype": "f32"}}, b"\0" * 4),
        "negative_dim": header_file({"x": u8([-1], 0, 1)}, b"\0"),
        "fractional_dim": header_file({"x": u8([1.5], 0, 1)}, b"\0"),
        "shape_overflow": header_file({"x": u8([2**32, 2**32, 2**32], 0, 1)}, b"\0"),
        "size_mismatch": header_file({"x": f32([2, 3], 0, 20)}, b"\0" * 20),
        "sub_byte_misfit": header_file({"x": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, b"\0\0"),
        "offsets_reversed": header_file({"x": u8([0], 4, 0)}, b"\0" * 4),
        "offsets_past_end": header_file({"x": f32([3], 4, 16)}, b"\0" * 12),
        "missing_data_offsets": header_file({"x": {"dtype": "U8", "shape": [1]}}, b"\0"),
        "overlap": header_file({"a": f32([1], 0, 4), "b": f32([1], 0, 4)}, b"\0" * 4),
        "overlap_partial": header_file({"a": f32([2], 0, 8), "b": f32([2], 4, 12)}, b"\0" * 12),
        "hole": header_file({"a": f32([1], 4, 8)}, b"\0" * 8),
        "duplicate_name": header_file(b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                                      b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', b"\0\0"),
        "metadata_not_strings": header_file({"__metadata__": {"format": 1}} | one, b"\x2a"),
    }


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(20240531)
    tensors = dtype_tensors(generator)
    save_file(tensors, str(out / "dtypes.safetensors"), metadata={"format": "pt", "note": "caf\u00e9 \u2603"})
    expected, sub_byte = encode_file(out / "dtypes.safetensors")
    assert not sub_byte and expected.keys() == tensors.keys()
    (out / "expected.json").write_text(json.dumps(expected, indent=1))

    # Shards of at most 256 bytes, so several tensors share a shard and the large ones stand alone.
    for name, max_shard_size in (("sharded", 256), ("single", 10**9)):
        (out / name).mkdir(exist_ok=True)
        save_torch_state_dict(tensors, str(out / name), max_shard_size=max_shard_size)
    assert (out / "sharded" / "model.safetensors.index.json").exists() and (out / "single" / "model.safetensors").exists()

    save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "i": torch.tensor([1, 2, 3], dtype=torch.int16)},
              str(out / "small.safetensors"))
    results = {}
    (out / "cases").mkdir(exist_ok=True)
    for name, blob in cases((out / "small.safetensors").read_bytes()).items():
        path = out / "cases" / f"{name}.safetensors"
        path.write_bytes(blob)
        try:
            encoded, sub_byte = encode_file(path)
            results[name] = {"accepted": True, "tensors": encoded, "sub_byte": sub_byte}
        except Exception as error:  # the reference's refusal: any exception type
            results[name] = {"accepted": False, "reference_error": str(error)}
    (out / "cases.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
