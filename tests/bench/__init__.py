"""Benchmarks: each bench_*.py module here has run() -> dict; `python -m tests.bench` runs them."""
