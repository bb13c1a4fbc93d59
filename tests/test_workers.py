"""The pieces of a parallel run: a worker's own network namespace, the selection handed to the
controller, results carried on test reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import workers
from harness.scenario import ScenarioMeta
from harness.verdict.verdicts import Verdict


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a network namespace")
def test_a_worker_sees_only_its_own_interfaces() -> None:
    code = (
        "import socket; from harness.workers import enter_own_network_namespace; "
        "enter_own_network_namespace(); print(sorted(n for _, n in socket.if_nameindex()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['lo']"


def _meta(sid: str) -> ScenarioMeta:
    return ScenarioMeta(
        id=sid,
        feature="f.feature",
        name=sid,
        interfaces=[4],
        tags=["id:" + sid],
        requirements=[],
        roles=["secc"],
        pics=[],
    )


def test_selection_round_trip(tmp_path: Path) -> None:
    assert workers.read_selection(tmp_path) is None
    selected = [_meta("TC_2"), _meta("TC_1")]
    workers.write_selection(tmp_path, selected)
    assert workers.read_selection(tmp_path) == selected
    workers.remove_selection(tmp_path)
    assert not (tmp_path / workers.SELECTION_FILE).exists()


class _Item:
    def __init__(self) -> None:
        self.user_properties: list[tuple[str, object]] = []


class _Report:
    def __init__(self, when: str, props: list[tuple[str, object]]) -> None:
        self.when, self.user_properties = when, props


def test_a_result_travels_on_the_call_report_only() -> None:
    item = _Item()
    result = _meta("TC_9").result(Verdict.FAIL, "because", duration_s=2.5)
    workers.send_result(item, result, {"network": "netns", "capture_used": ["dumpcap"]})  # type: ignore[arg-type]
    assert workers.received_result(_Report("setup", item.user_properties)) is None  # type: ignore[arg-type]
    received = workers.received_result(_Report("call", item.user_properties))  # type: ignore[arg-type]
    assert received == (result, {"network": "netns", "capture_used": ["dumpcap"]})
    assert workers.received_result(_Report("call", [])) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("worker", "index"), [(None, 0), ("gw0", 0), ("gw1", 1), ("gw12", 12)])
def test_worker_gwk_opens_its_bench_on_station_k(
    monkeypatch: pytest.MonkeyPatch, worker: str | None, index: int
) -> None:
    if worker is None:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    else:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert workers.station_index() == index
