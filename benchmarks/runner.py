"""Discovers bench_*.py modules and calls their main(quick=...)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import time
from pathlib import Path


def run_all(quick: bool = False) -> None:
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        main = getattr(module, "main", None)
        if main is None:
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        if "quick" in inspect.signature(main).parameters:
            main(quick=quick)
        else:
            main()
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
