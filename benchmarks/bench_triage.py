"""Benchmark the shipped triage model: batch throughput, single-message latency, model memory.

Reproduce::

    .venv/bin/python benchmarks/bench_triage.py            # full run (2,000-message batch)
    .venv/bin/python benchmarks/bench_triage.py --quick    # smoke run, a few seconds

Messages are the held-out test split, cycled to the batch size. Latency is ``Triager.triage`` on
one message at a time (rules, model, extraction and flags all included). Memory is the
tracemalloc peak while loading the model and the process RSS before and after loading.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from classifiers.evaluate import to_input  # noqa: E402
from classifiers.train import DATA_DIR, load_rows  # noqa: E402
from classifiers.triage import DEFAULT_MODEL_PATH, Triager  # noqa: E402


def _rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--batch", type=int, default=2000, help="messages in the batch run")
    parser.add_argument("--single", type=int, default=300, help="single-message calls")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args(argv)
    batch_n, single_n = (200, 50) if args.quick else (args.batch, args.single)

    # Import what unpickling needs first: import cost and module memory are not the model's.
    import sklearn.calibration  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.pipeline  # noqa: F401
    import sklearn.svm  # noqa: F401

    rows = load_rows(DATA_DIR / "test.jsonl")
    items = [to_input(r) for r in rows]
    rss_before = _rss_mib()
    tracemalloc.start()
    triager = Triager.load(args.model)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = _rss_mib()
    t0 = time.perf_counter()
    Triager.load(args.model)  # timed without tracemalloc, which slows allocation
    load_s = time.perf_counter() - t0

    triager.triage_many(items[:20])  # warm up
    batch = [items[i % len(items)] for i in range(batch_n)]
    t0 = time.perf_counter()
    triager.triage_many(batch)
    batch_s = time.perf_counter() - t0

    lat = []
    for i in range(single_n):
        it = items[i % len(items)]
        t0 = time.perf_counter()
        triager.triage(it)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]

    size = args.model.stat().st_size
    print(f"triage benchmark ({'quick' if args.quick else 'full'}), model {args.model.name}")
    print(f"{'model size on disk':<34}{size / 1024 / 1024:8.2f} MiB")
    print(f"{'model load time':<34}{load_s * 1000:8.0f} ms")
    print(f"{'model memory (tracemalloc, held)':<34}{current / 1024 / 1024:8.2f} MiB")
    print(f"{'model memory (tracemalloc, peak)':<34}{peak / 1024 / 1024:8.2f} MiB")
    print(f"{'process RSS delta on load':<34}{rss_after - rss_before:8.2f} MiB")
    print(f"{'batch throughput':<34}{batch_n / batch_s:8.1f} msgs/s  ({batch_n} msgs)")
    print(f"{'single-message latency p50':<34}{p50:8.2f} ms  ({single_n} calls)")
    print(f"{'single-message latency p95':<34}{p95:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
