"""Where every benchmark script leaves its numbers: bench/results/NAME.json, also echoed to stdout."""
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name, result):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
