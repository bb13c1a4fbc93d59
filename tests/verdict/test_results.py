"""results.json: what a run on several stations records, and that runs written before stations load."""

from __future__ import annotations

import json
from pathlib import Path

from harness.verdict.results import DutIdentity, LabRef, Results, RunInfo, ScenarioResult, StationInfo
from harness.verdict.verdicts import Verdict

BAY_1 = StationInfo(name="bay-1", serial="SN-1", firmware="3.1.0", location="plc on eth1")
BAY_2 = StationInfo(name="bay-2", serial="SN-2", firmware="3.1.0", location="plc on eth2")


def _run(**extra: object) -> RunInfo:
    return RunInfo(
        harness_version="0.1.0",
        lab=LabRef(name="two-evse", file="two-evse.yaml", sha256="00" * 32),
        dut=DutIdentity(vendor="v", model="m", firmware="3.1.0", serial="SN-1", roles=["evse"]),
        started="2026-12-01T00:00:00Z",
        network="external",
        capture_backend="dumpcap",
        **extra,
    )


def _scenario(sid: str, **extra: object) -> ScenarioResult:
    return ScenarioResult(
        id=sid,
        feature="f.feature",
        name=sid,
        interfaces=[2],
        tags=[],
        requirements=[],
        verdict=Verdict.PASS,
        reason="ok",
        **extra,
    )


def test_stations_round_trip(tmp_path: Path) -> None:
    results = Results(
        run=_run(workers=2, stations=[BAY_1, BAY_2]),
        scenarios=[_scenario("TC_1", station=BAY_2), _scenario("TC_2", station=BAY_1)],
    )
    results.save(tmp_path)
    loaded = Results.load(tmp_path)
    assert loaded == results
    assert [s.station.name for s in loaded.scenarios if s.station] == ["bay-2", "bay-1"]
    assert loaded.run.stations == [BAY_1, BAY_2]
    raw = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert raw["scenarios"][0]["station"] == {
        "name": "bay-2",
        "serial": "SN-2",
        "firmware": "3.1.0",
        "location": "plc on eth2",
    }


def test_a_run_written_before_stations_existed_loads(tmp_path: Path) -> None:
    raw = json.loads(Results(run=_run(), scenarios=[_scenario("TC_1")]).model_dump_json())
    del raw["run"]["stations"]
    del raw["scenarios"][0]["station"]
    (tmp_path / "results.json").write_text(json.dumps(raw), encoding="utf-8")
    loaded = Results.load(tmp_path)
    assert loaded.run.stations == [] and loaded.scenarios[0].station is None
