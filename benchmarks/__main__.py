"""Run every benchmark module (bench_*.py) in this folder: python -m benchmarks [--quick]."""

from __future__ import annotations

import sys

from benchmarks.runner import run_all

if __name__ == "__main__":
    run_all(quick="--quick" in sys.argv[1:])
