"""Runs a command for a benchmark: its stdout and wall-clock seconds, or the benchmark stops with its error."""
import subprocess
import time


def timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout, time.perf_counter() - start
