"""`vgi merge`: shards of one campaign become one run directory whose verdicts equal a single run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.run_merge import MergeError, merge_runs
from harness.selection import in_shard
from harness.verdict.results import Results
from harness.verdict.verdicts import Verdict
from tests.commands.conftest import write_run

IDS = [f"TC_{n}" for n in range(7)]
VERDICTS = {sid: (Verdict.FAIL if sid == "TC_3" else Verdict.PASS) for sid in IDS}


def _shard(tmp_path: Path, index: int, count: int) -> Path:
    chosen = {sid: v for pos, (sid, v) in enumerate(VERDICTS.items()) if in_shard(pos, (index, count))}
    run_dir = write_run(tmp_path / f"shard{index}", chosen)
    results = Results.load(run_dir)
    results.run.shard = f"{index}/{count}"
    results.save(run_dir)
    capture = run_dir / "captures" / f"{next(iter(chosen))}.pcapng"
    capture.parent.mkdir()
    capture.write_bytes(b"evidence of shard %d" % index)
    (run_dir / "report.html").write_text(f"shard {index}")
    return run_dir


def test_shards_merge_into_the_single_run_order_and_verdicts(tmp_path: Path) -> None:
    shards = [_shard(tmp_path, i, 3) for i in (2, 1, 3)]
    merged = merge_runs(shards, tmp_path / "merged")
    assert [s.id for s in merged.scenarios] == IDS
    assert {s.id: s.verdict for s in merged.scenarios} == VERDICTS
    assert merged.run.shard is None and len(merged.run.merged_from) == 3
    out = tmp_path / "merged"
    assert sorted(p.name for p in (out / "captures").iterdir()) == [
        "TC_0.pcapng",
        "TC_1.pcapng",
        "TC_2.pcapng",
    ]
    assert (out / "report.html").read_text() != "shard 1"  # rendered anew
    assert Results.load(out).scenarios == merged.scenarios
    # the shards are left as they were
    assert Results.load(shards[0]).run.shard == "2/3"


def test_every_scenario_in_exactly_one_shard() -> None:
    for count in (1, 2, 3, 5):
        owners = [[i for i in range(1, count + 1) if in_shard(pos, (i, count))] for pos in range(23)]
        assert all(len(o) == 1 for o in owners)


def test_overlapping_shards_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", {"TC_1": Verdict.PASS, "TC_2": Verdict.PASS})
    b = write_run(tmp_path / "b", {"TC_2": Verdict.FAIL})
    with pytest.raises(MergeError, match="TC_2 is in both"):
        merge_runs([a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_runs_of_different_labs_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", {"TC_1": Verdict.PASS})
    b = write_run(tmp_path / "b", {"TC_2": Verdict.PASS})
    results = Results.load(b)
    results.run.lab.sha256 = "11" * 32
    results.save(b)
    with pytest.raises(MergeError, match="same lab config"):
        merge_runs([a, b], tmp_path / "out")


def test_differing_evidence_under_one_name_is_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", {"TC_1": Verdict.PASS})
    b = write_run(tmp_path / "b", {"TC_2": Verdict.PASS})
    for run_dir, content in ((a, b"one"), (b, b"two")):
        (run_dir / "logs").mkdir()
        (run_dir / "logs" / "dut.log").write_bytes(content)
    with pytest.raises(MergeError, match="logs/dut.log differs"):
        merge_runs([a, b], tmp_path / "out")


def test_cli_exit_status_follows_the_merged_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = [_shard(tmp_path, i, 2) for i in (1, 2)]
    assert main(["merge", *map(str, shards), "--out", str(tmp_path / "m")]) == 1  # TC_3 FAILs
    assert "7 scenario(s): 6 PASS, 1 FAIL" in capsys.readouterr().out
    assert main(["merge", str(shards[0]), "--out", str(tmp_path / "m2")]) == 2
    assert "at least two" in capsys.readouterr().err
