"""Benchmarks: run by `tests/bench/run`, print one JSON line per figure, never part of the test run."""
