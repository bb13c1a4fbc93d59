"""`vgi run` on a lab with two stations: one worker per station, each result names its station, the
verdicts are those of a run on one station; a physical (tcp) lab's workers stay in the machine's
network namespace, where the units' interfaces are."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lab_configs import DEFAULT_LAB
from reports.model import Results

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root to make network namespaces"
    ),
]

# Four short scenario runs (about 2 s each on the embedded lab): SDP against the reference SECC and EVCC.
TAGS = "id:TC_SDP_EVCC_001 or id:TC_SDP_SECC_001 or id:TC_SDP_SECC_002"
STATIONS = [
    {"name": "bench-a", "serial": "SIM-A"},
    {"name": "bench-b", "serial": "SIM-B", "firmware": "0.1.1"},
]
# Guard against a hung run, not a performance limit.
RUN_GUARD_S = 300
# SDP against a SECC: three short scenario runs for two "physical" chargers.
SECC_TAGS = "id:TC_SDP_SECC_001 or id:TC_SDP_SECC_002"
# Bound on a reference SECC's start (it prints READY once it serves).
SECC_START_BOUND_S = 60.0


def _vgi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=RUN_GUARD_S
    )


def _lab(path: Path, **changes: object) -> Path:
    data = yaml.safe_load(DEFAULT_LAB.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Results, Path]:
    base = tmp_path_factory.mktemp("stations")
    one_lab = _lab(base / "sim-one.yaml", name="sim-one")
    two_lab = _lab(base / "sim-two.yaml", name="sim-two", stations=STATIONS)
    one = _vgi("run", "--lab", str(one_lab), "--tags", TAGS, "--jobs", "1", "--out", str(base / "one"))
    assert one.returncode == 0, one.stdout + one.stderr
    two = _vgi("run", "--lab", str(two_lab), "--tags", TAGS, "--out", str(base / "two"))
    assert two.returncode == 0, two.stdout + two.stderr
    assert "on station(s) bench-a, bench-b" in two.stdout
    return Results.load(base / "one"), Results.load(base / "two"), base / "two"


def test_each_station_runs_scenarios_and_each_result_names_its_station(runs) -> None:  # noqa: ANN001
    one, two, _ = runs
    assert len(two.scenarios) == 4
    assert two.run.workers == 2
    assert [(s.name, s.serial, s.firmware) for s in two.run.stations] == [
        ("bench-a", "SIM-A", "0.1.0"),
        ("bench-b", "SIM-B", "0.1.1"),
    ]
    by_name = {s.name: s for s in two.run.stations}
    for scenario in two.scenarios:
        assert scenario.station is not None, scenario.id
        assert scenario.station == by_name[scenario.station.name], scenario.id
    assert {s.station.name for s in two.scenarios if s.station} == {"bench-a", "bench-b"}
    # a lab without stations records none
    assert one.run.stations == [] and all(s.station is None for s in one.scenarios)


def test_verdicts_equal_a_run_on_one_station(runs) -> None:  # noqa: ANN001
    one, two, _ = runs
    assert [(s.id, s.verdict) for s in two.scenarios] == [(s.id, s.verdict) for s in one.scenarios]
    assert all(s.verdict == "PASS" for s in two.scenarios)


def test_the_report_shows_the_stations(runs) -> None:  # noqa: ANN001
    _, two, run_dir = runs
    index = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<th>Station</th>" in index and 'id="stations"' in index
    assert index.count('<td class="mono station">bench-') == len(two.scenarios)


def _wait_ready(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + SECC_START_BOUND_S
    seen = []
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("READY "):
                return
    raise AssertionError(f"the reference SECC did not start: {''.join(seen)}")


@pytest.fixture(scope="module")
def two_chargers() -> Iterator[list[str]]:
    """Two chargers as a lab has them: reference SECCs in namespaces of their own, each reached through
    its own interface of the machine's namespace (the root end of a veth pair): the interfaces of
    two stations of a `tcp` lab."""
    from harness.transport.netns import create_veth_link, destroy_veth_link

    links, procs = [], []
    try:
        for _ in range(2):
            link = create_veth_link()
            links.append(link)
            argv = [sys.executable, "-m", "harness.cli", "sim", "secc", "--interface", link.dut_interface]
            proc = subprocess.Popen(
                ["ip", "netns", "exec", link.netns, *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            _wait_ready(proc)
        yield [link.tester_interface for link in links]
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for link in links:
            destroy_veth_link(link)


def test_physical_stations_run_in_the_machines_namespace(tmp_path: Path, two_chargers: list[str]) -> None:
    first, second = two_chargers
    lab = {
        "name": "two-chargers",
        "dut": {
            "vendor": "vgi-harness",
            "model": "reference SECC",
            "firmware": "0.1.0",
            "serial": "SECC-A",
            "roles": ["secc"],
            "interfaces": [4],
        },
        "access": {"kind": "tcp", "interface": first},
        # What the reference SECCs (`vgi sim secc`, the embedded lab's PICS) do: plain TCP and TLS in SDP.
        "pics": {"protocols": ["sdp", "din70121"], "options": {"sdp.no_tls": True, "sdp.tls": True}},
        "stations": [
            {"name": "charger-a"},
            {"name": "charger-b", "serial": "SECC-B", "access": {"interface": second}},
        ],
    }
    path = tmp_path / "two-chargers.yaml"
    path.write_text(yaml.safe_dump(lab, sort_keys=False), encoding="utf-8")
    proc = _vgi("run", "--lab", str(path), "--tags", SECC_TAGS, "--out", str(tmp_path / "run"))
    results = Results.load(tmp_path / "run")
    # A worker in a namespace of its own would not see the interfaces: every scenario ERROR, "cannot
    # set up the bench".
    assert proc.returncode == 0, (
        proc.stdout + proc.stderr + str([(s.id, s.reason) for s in results.scenarios])
    )
    assert results.run.workers == 2
    assert [(s.name, s.serial, s.location) for s in results.run.stations] == [
        ("charger-a", "SECC-A", f"tcp on {first}"),
        ("charger-b", "SECC-B", f"tcp on {second}"),
    ]
    assert len(results.scenarios) == 3
    assert all(s.verdict == "PASS" and s.station is not None for s in results.scenarios)
    assert {s.station.name for s in results.scenarios if s.station} == {"charger-a", "charger-b"}
