"""The benchmark script runs (a few iterations, without josev); timing itself is not asserted here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_exi.py"


def test_benchmark_runs_and_prints_a_table() -> None:
    spec = importlib.util.spec_from_file_location("bench_exi", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_exi"] = bench  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules["bench_exi"]
    results = bench.run(runs=3, with_josev=False)
    assert [r.name for r in results] == [c.name for c in bench.CASES]
    assert all(r.decode_us > 0 and r.encode_us > 0 and r.ratio is None for r in results)
    table = bench.format_table(results)
    assert "DIN CurrentDemandReq" in table and "n/a" in table
