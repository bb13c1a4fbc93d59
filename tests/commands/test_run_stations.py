"""`vgi run` and `vgi merge` on a lab with several stations: one worker per station, none beyond."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.commands import UsageError
from harness.commands.run import AUTO_JOBS, resolve_jobs
from harness.run_merge import MergeError, merge_runs
from harness.verdict.results import Results, StationInfo
from harness.verdict.verdicts import Verdict
from tests.commands.conftest import write_run


@pytest.mark.parametrize("kind", ["tcp", "plc", "manual"])
def test_physical_stations_run_one_worker_each(kind: str) -> None:
    # Their units' interfaces are in the machine's namespace: whether this process could make
    # namespaces does not matter.
    for namespaces in (True, False):
        assert resolve_jobs("auto", kind, namespaces=namespaces, stations=3) == 3
        assert resolve_jobs("2", kind, namespaces=namespaces, stations=3) == 2
        assert resolve_jobs("1", kind, namespaces=namespaces, stations=3) == 1
    with pytest.raises(UsageError, match="exists once"):
        resolve_jobs("2", kind, namespaces=True, stations=0)


@pytest.mark.parametrize("kind", ["sim", "process"])
def test_stations_of_a_dut_the_harness_starts_still_need_namespaces(kind: str) -> None:
    assert resolve_jobs("auto", kind, namespaces=True, stations=2) == 2 != AUTO_JOBS
    assert resolve_jobs("auto", kind, namespaces=False, stations=2) == 1
    with pytest.raises(UsageError, match="namespaces"):
        resolve_jobs("2", kind, namespaces=False, stations=2)


@pytest.mark.parametrize("kind", ["sim", "tcp"])
def test_more_workers_than_stations_are_refused(kind: str) -> None:
    with pytest.raises(UsageError, match=r"--jobs 3: the lab lists 2 station\(s\).*at most 2"):
        resolve_jobs("3", kind, namespaces=True, stations=2)


def test_parallel_manual_stations_need_an_acknowledgement_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def not_reached(*args: object, **kwargs: object) -> int:
        raise AssertionError("the run went on to set up its bench")

    monkeypatch.setattr("harness.commands.run._reap_and_preflight", not_reached)
    monkeypatch.delenv("VGI_ACK_FILE", raising=False)
    lab = {
        "name": "two-chargers",
        "dut": {
            "vendor": "v",
            "model": "m",
            "firmware": "1",
            "serial": "A",
            "roles": ["secc"],
            "interfaces": [4],
        },
        "access": {"kind": "manual", "interface": "eth1"},
        "pics": {"protocols": ["sdp", "din70121"]},
        "stations": [{"name": "a"}, {"name": "b", "serial": "B", "access": {"interface": "eth2"}}],
    }
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(lab), encoding="utf-8")
    assert main(["run", "--lab", str(path), "--jobs", "2", "--out", str(tmp_path / "run")]) == 2
    assert "give --ack-file PATH" in capsys.readouterr().err
    assert main(["run", "--lab", str(path), "--jobs", "3", "--out", str(tmp_path / "run")]) == 2
    assert "lists 2 station(s)" in capsys.readouterr().err


def _run_on(tmp_path: Path, name: str, verdicts: dict[str, Verdict], station: StationInfo) -> Path:
    run_dir = write_run(tmp_path / name, verdicts)
    results = Results.load(run_dir)
    results.run.stations = [station]
    for scenario in results.scenarios:
        scenario.station = station
    results.save(run_dir)
    return run_dir


def test_merge_keeps_the_stations(tmp_path: Path) -> None:
    bay_1 = StationInfo(name="bay-1", serial="SN-1", firmware="1", location="plc on eth1")
    bay_2 = StationInfo(name="bay-2", serial="SN-2", firmware="1", location="plc on eth2")
    a = _run_on(tmp_path, "a", {"TC_1": Verdict.PASS}, bay_1)
    b = _run_on(tmp_path, "b", {"TC_2": Verdict.FAIL}, bay_2)
    merged = merge_runs([a, b], tmp_path / "merged")
    assert merged.run.stations == [bay_1, bay_2]
    assert {s.id: s.station for s in Results.load(tmp_path / "merged").scenarios} == {
        "TC_1": bay_1,
        "TC_2": bay_2,
    }


def test_merge_refuses_one_station_name_with_two_identities(tmp_path: Path) -> None:
    a = _run_on(tmp_path, "a", {"TC_1": Verdict.PASS}, StationInfo(name="bay-1", serial="SN-1", firmware="1"))
    b = _run_on(tmp_path, "b", {"TC_2": Verdict.PASS}, StationInfo(name="bay-1", serial="SN-9", firmware="1"))
    with pytest.raises(MergeError, match="station bay-1 is"):
        merge_runs([a, b], tmp_path / "merged")
