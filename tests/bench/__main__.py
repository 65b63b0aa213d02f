"""`make bench`: run every tests/bench/bench_*.py module's run() and print one JSON object.

    python -m tests.bench              every module
    python -m tests.bench detector     only bench_detector.py (names without "bench_")

stdout carries only the JSON, {"detector": {...}, "pipeline": {...}}, keyed by module name
without "bench_"; progress and anything a module prints go to stderr. A module that raises
is reported as {"error": "..."} and makes the exit status 1.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PREFIX = "bench_"


def discover() -> list[str]:
    """Names (without the prefix) of the bench modules beside this file, sorted."""
    here = [str(Path(__file__).parent)]
    found = (m.name for m in pkgutil.iter_modules(here) if m.name.startswith(PREFIX))
    return sorted(name.removeprefix(PREFIX) for name in found)


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the JSON: whatever a benchmark (or its subprocesses) prints goes to 2."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_one(name: str) -> dict[str, Any]:
    module = importlib.import_module(f"{__package__}.{PREFIX}{name}")
    result = module.run()
    if not isinstance(result, dict):
        raise TypeError(f"{PREFIX}{name}.run() returned {type(result).__name__}, not a dict")
    return result


def main(argv: list[str]) -> int:
    names = discover()
    unknown = sorted(set(argv) - set(names))
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; have {', '.join(names)}", file=sys.stderr)
        return 2
    results: dict[str, Any] = {}
    status = 0
    for name in names:
        if argv and name not in argv:
            continue
        print(f"bench {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            with stdout_to_stderr():
                results[name] = run_one(name)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": f"{type(err).__name__}: {err}"}
            status = 1
        print(f"bench {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2, sort_keys=True))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
