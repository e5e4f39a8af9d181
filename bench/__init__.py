"""Benchmarks: ``make bench`` (or ``python -m bench [name ...]``). See docs/benchmarks.md."""
