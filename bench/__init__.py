"""Load benchmarks, run by hand (``python -m bench.load``); never imported by tests."""
