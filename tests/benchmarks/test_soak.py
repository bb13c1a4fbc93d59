"""The soak benchmark's pure parts: the growth between the first and the last tenth, the criterion, the
sampler (on this process) and the log follower.  The soak itself needs root and minutes."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def _load():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["soak"]
    return module


soak = _load()


def test_growth_compares_the_means_of_the_first_and_the_last_tenth():
    # 30 values: tenths of 3; what lies between them does not count
    values = [10, 10, 13] + [1000] * 24 + [12, 12, 12]
    result = soak.growth(values)
    assert result.first == 11 and result.last == 12
    assert result.percent == pytest.approx(100 / 11)
    assert not result.within(5.0)


def test_growth_with_fewer_than_ten_values_takes_one_value_each_end():
    result = soak.growth([100, 500, 104])
    assert (result.first, result.last) == (100, 104)
    assert result.within(5.0)


def test_growth_limit_is_strict_and_shrinking_is_flat():
    assert not soak.growth([100, 105]).within(5.0)
    assert soak.growth([100, 104.9]).within(5.0)
    assert soak.growth([100, 80]).percent == pytest.approx(-20.0)
    assert soak.growth([100, 80]).within(5.0)


def test_growth_from_zero_and_from_too_few_samples():
    assert soak.growth([0, 0]).percent == 0.0
    assert math.isinf(soak.growth([0, 1]).percent)
    with pytest.raises(ValueError, match="at least 2"):
        soak.growth([7])


def test_track_names_what_breaks_the_criterion():
    flat = soak.Track("SECC", [soak.Usage(8, 70_000)] * 20)
    assert flat.problems() == []
    leaking = soak.Track("SECC", [soak.Usage(8 + n, 70_000) for n in range(20)])
    (problem,) = leaking.problems()
    assert problem.startswith("SECC: fds grew") and "limit 5 %" in problem
    swelling = soak.Track("PFE server", [soak.Usage(8, 70_000 + 1000 * n) for n in range(20)])
    assert [p.split(" grew")[0] for p in swelling.problems()] == ["PFE server: RSS"]
    assert soak.Track("harness", [soak.Usage(8, 1)]).problems() == [
        "harness: 1 sample(s), too few to judge growth"
    ]
    rows = flat.rows()
    assert rows[0] == "| SECC | fds | 8.0 | 8.0 | +0.0 % |"
    assert rows[1].startswith("| SECC | RSS MiB | 68.4 | 68.4 |")


def test_usage_counts_this_process_descriptors_and_resident_memory(tmp_path):
    before = soak.usage(os.getpid())
    assert before.fds > 0 and before.rss_kib > 0
    files = [(tmp_path / f"f{n}").open("w") for n in range(3)]
    try:
        assert soak.usage(os.getpid()).fds == before.fds + 3
    finally:
        for file in files:
            file.close()
    assert soak.usage(os.getpid()).fds == before.fds
    block = b"\x01" * (64 << 20)  # 64 MiB written, so resident
    assert soak.usage(os.getpid()).rss_kib - before.rss_kib >= 48 << 10
    del block


def test_usage_of_a_process_that_does_not_exist():
    with pytest.raises(OSError):
        soak.usage(2**22 + 1)  # above the kernel's pid_max limit


def test_line_follower_reads_whole_appended_lines_only(tmp_path):
    log = tmp_path / "secc.log"
    follower = soak.LineFollower(log)
    assert follower.wait_for("SESSION ", 0) is None  # no log yet
    log.write_text("READY secc\nSESSION COMP")
    assert follower.wait_for("SESSION ", 0) is None  # half a line is not a line
    with log.open("a") as out:
        out.write("LETED SessionStopReq answered\nnoise\nSESSION TIMEOUT x\n")
    assert follower.wait_for("SESSION ", 0) == "SESSION COMPLETED SessionStopReq answered"
    assert follower.wait_for("SESSION ", 0) == "SESSION TIMEOUT x"  # read together, kept for later
    assert follower.wait_for("SESSION ", 0) is None
