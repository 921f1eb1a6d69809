"""Discovers bench_*.py modules and calls their main(quick=...)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def run_all(quick: bool = False) -> None:
    """Each benchmark module in its own process: one's leftovers (memory, threads, the garbage
    collector's work) never weigh on the next; each prints its baselines from the same run."""
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        args = [sys.executable, "-m", "benchmarks.runner", name] + (["--quick"] if quick else [])
        if subprocess.run(args, check=False).returncode != 0:
            failed.append(name)
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        raise SystemExit(f"benchmarks failed: {', '.join(failed)}")


def run_one(name: str, quick: bool = False) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    main = getattr(module, "main", None)
    if main is None:
        return
    if "quick" in inspect.signature(main).parameters:
        main(quick=quick)
    else:
        main()


if __name__ == "__main__":
    run_one(sys.argv[1], quick="--quick" in sys.argv[2:])
