"""Checks safetensors files written by lmc with the reference libraries; exits non-zero naming the problem.

Usage: safetensors_check.py EXPECTED_JSON TARGET...

A TARGET is a .safetensors file, or DIR=MAX_SHARD_SIZE for a directory holding a (sharded) checkpoint
written with that maximum shard size; several targets share one Python start-up.
EXPECTED_JSON maps tensor names to `safetensors_golden.encode` output. Checked: the reference loads every
file; names, dtypes, shapes, values and bits match; every file's metadata has format "pt" (what
transformers demands) and a header padded to 8 bytes; a directory is split into exactly the files,
tensors and index huggingface_hub's split_torch_state_dict_into_shards gives for the tensors in sorted
name order (the order lmc's test adds them in).
"""
import json
import struct
import sys
from pathlib import Path

from huggingface_hub import split_torch_state_dict_into_shards
from safetensors import safe_open
from safetensors.torch import load_file

from safetensors_golden import encode


def fail(message):
    print(f"safetensors_check: {message}")
    sys.exit(1)


def check_file(path: Path, expected: dict):
    """Returns the file's tensors after checking them and its header against `expected`."""
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    if header_len % 8:
        fail(f"{path}: header length {header_len} is not a multiple of 8")
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != "pt":
            fail(f"{path}: metadata {metadata} lacks format 'pt'")
        for name in f.keys():
            if name not in expected:
                fail(f"{path}: unexpected tensor {name!r}")
            actual = encode(tensors[name], f.get_slice(name).get_dtype())
            if actual != expected[name]:
                diffs = {k: (actual[k], expected[name][k]) for k in actual if actual[k] != expected[name][k]}
                fail(f"{path}: tensor {name!r} differs: {str(diffs)[:400]}")
    return tensors, metadata


def check_dir(directory: Path, expected: dict, max_shard_size: int):
    files = sorted(p.name for p in directory.iterdir() if p.name.endswith(".safetensors"))
    if not files:
        fail(f"{directory}: no .safetensors files")
    loaded = {}
    for name in files:
        tensors, _ = check_file(directory / name, expected)
        loaded.update({key: (name, tensor) for key, tensor in tensors.items()})
    if loaded.keys() != expected.keys():
        fail(f"{directory}: tensors {sorted(set(expected) ^ set(loaded))} are missing or extra")
    state_dict = {key: loaded[key][1] for key in sorted(expected)}
    split = split_torch_state_dict_into_shards(state_dict, max_shard_size=max_shard_size)
    if sorted(split.filename_to_tensors) != files:
        fail(f"{directory}: files {files}, huggingface_hub would write {sorted(split.filename_to_tensors)}")
    for file_name, keys in split.filename_to_tensors.items():
        actual = sorted(k for k, (f, _) in loaded.items() if f == file_name)
        if actual != sorted(keys):
            fail(f"{file_name} holds {actual}, huggingface_hub puts {sorted(keys)} there")
    index_path = directory / "model.safetensors.index.json"
    if split.is_sharded:
        index = json.loads(index_path.read_text())
        if index["weight_map"] != split.tensor_to_filename:
            fail("index weight_map differs from huggingface_hub's")
        if index["metadata"].get("total_size") != split.metadata["total_size"]:
            fail(f"index total_size {index['metadata'].get('total_size')}, expected {split.metadata['total_size']}")
    elif index_path.exists():
        fail(f"{directory}: a single-file checkpoint has an index")


def main():
    expected = json.loads(Path(sys.argv[1]).read_text())
    for target in sys.argv[2:]:
        if "=" in target:
            directory, max_shard_size = target.rsplit("=", 1)
            check_dir(Path(directory), expected, int(max_shard_size))
            continue
        tensors, _ = check_file(Path(target), expected)
        if tensors.keys() != expected.keys():
            fail(f"{target}: tensors {sorted(set(expected) ^ set(tensors))} are missing or extra")
    print("ok")


if __name__ == "__main__":
    main()
