"""`vgi run --jobs` and `--shard`: what each lab allows."""

from __future__ import annotations

import pytest

from harness.commands import UsageError
from harness.commands.run import AUTO_JOBS, resolve_jobs
from harness.selection import ShardError, parse_shard


@pytest.mark.parametrize("kind", ["sim", "process"])
def test_labs_whose_dut_the_harness_starts_run_in_parallel(kind: str) -> None:
    assert resolve_jobs("auto", kind, namespaces=True) == AUTO_JOBS > 1
    assert resolve_jobs("3", kind, namespaces=True) == 3


def test_a_lab_may_give_its_own_figure_for_auto() -> None:
    # josev's labs: one copy at a time, since each copy's JVM slows the others' answers.
    assert resolve_jobs("auto", "process", namespaces=True, auto_jobs=1) == 1
    assert resolve_jobs("3", "process", namespaces=True, auto_jobs=1) == 3
    assert resolve_jobs("auto", "process", namespaces=False, auto_jobs=2) == 1


@pytest.mark.parametrize("kind", ["tcp", "plc", "manual"])
def test_a_dut_that_exists_once_runs_one_scenario_at_a_time(kind: str) -> None:
    assert resolve_jobs("auto", kind, namespaces=True) == 1
    assert resolve_jobs("1", kind, namespaces=True) == 1
    with pytest.raises(UsageError, match="exists once"):
        resolve_jobs("2", kind, namespaces=True)


def test_without_namespaces_scenarios_run_one_at_a_time() -> None:
    assert resolve_jobs("auto", "sim", namespaces=False) == 1
    with pytest.raises(UsageError, match="namespaces"):
        resolve_jobs("2", "sim", namespaces=False)


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_nonsense_jobs_are_refused(value: str) -> None:
    with pytest.raises(UsageError, match="--jobs"):
        resolve_jobs(value, "sim", namespaces=True)


def test_shard_syntax() -> None:
    assert parse_shard("2/3") == (2, 3)
    assert parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ShardError):
            parse_shard(bad)
