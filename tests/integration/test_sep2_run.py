"""`vgi run` of IEEE 2030.5 scenarios on the embedded lab: both tester roles over mutual TLS, verdicts
from the decrypted capture, `vgi analyze` agreeing; reference devices broken on purpose fail."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.model import Results

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300


def _run(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def _faulty_lab(tmp_path: Path, role: str, fault: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{fault}")
    text = re.sub(r"(?m)^  roles: \[.*\]$", f"  roles: [{role}]", text)
    text = text.replace("  kind: sim\n", f"  kind: sim\n  faults: [{fault}]\n")
    lab = tmp_path / f"{fault}.yaml"
    lab.write_text(text)
    return lab


def test_dr_flow_and_bad_bodies_pass_with_decrypted_evidence_and_analyze_agrees(tmp_path):
    out = tmp_path / "run"
    tags = "protocol:ieee2030.5 and (req:SEP2-EV-05 or req:SEP2-SERVER-03)"
    proc = _run(out, "--interface", "1", "--interface", "6", "--interface", "8", "--tags", tags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scenarios = Results.load(out).scenarios
    assert {s.id.split("[")[0] for s in scenarios} == {"TC_SEP2_I1_003", "TC_SEP2_I6_003", "TC_SEP2_I8_002"}
    for scenario in scenarios:
        assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
        assert scenario.evidence and scenario.evidence[0].frames, scenario.id
        timeline = json.loads((out / scenario.timeline).read_text())
        http = [e for e in timeline if e["protocol"] == "HTTP"]
        assert any(e["message"] == "200 DeviceCapability" for e in http), scenario.id
        assert any(e["protocol"] == "TLS" and e["message"] == "ServerHello" for e in timeline), scenario.id
    analyzed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    assert all(s["from_capture"] and s["verdict"] == "PASS" for s in json.loads(analyzed.stdout)["scenarios"])


def test_ev_that_ignores_dr_events_fails(tmp_path):
    out = tmp_path / "run"
    lab = _faulty_lab(tmp_path, "ev", "sep2-ev-ignores-dr")
    proc = _run(out, "--lab", str(lab), "--interface", "1", "--tags", "direct_load_control")
    assert proc.returncode != 0
    (scenario,) = Results.load(out).scenarios
    assert scenario.verdict == "FAIL" and "DrResponse" in scenario.reason, scenario.reason


def test_server_that_accepts_malformed_bodies_fails_with_the_offending_bytes(tmp_path):
    out = tmp_path / "run"
    lab = _faulty_lab(tmp_path, "pfe-server", "sep2-server-accepts-malformed")
    proc = _run(out, "--lab", str(lab), "--interface", "7", "--tags", "negative")
    assert proc.returncode != 0
    by_id = {s.id: s for s in Results.load(out).scenarios}
    malformed = by_id["TC_SEP2_I7_002[malformed XML-400]"]
    assert malformed.verdict == "FAIL" and "400" in malformed.reason, malformed.reason
    timeline = json.loads((out / malformed.timeline).read_text())
    bad = [e for e in timeline if e["protocol"] == "HTTP" and e["error"]]
    assert bad and bytes.fromhex(bad[0]["fields"]["raw"]).startswith(b"<?xml")
    assert by_id["TC_SEP2_I7_002[wrong content type-415]"].verdict == "PASS"


def _lab_with_option(tmp_path: Path, name: str, option: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{name}")
    assert re.search(r"(?m)^  options:\n", text)
    text = re.sub(r"(?m)^  options:\n", f"  options:\n    {option}\n", text, count=1)
    lab = tmp_path / f"{name}.yaml"
    lab.write_text(text)
    return lab


def test_dns_sd_discovery_both_ways_passes_from_the_capture(tmp_path):
    """The tester advertises _smartenergy._tcp, the reference EVSE finds it by DNS-SD (the query is on
    the timeline), and the tester as client judges the reference PFE's advertisement."""
    out = tmp_path / "run"
    tags = "protocol:ieee2030.5 and (req:SEP2-DISC-01 or req:SEP2-DISC-02)"
    proc = _run(out, "--interface", "5", "--interface", "7", "--tags", tags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scenarios = {s.id: s for s in Results.load(out).scenarios}
    assert set(scenarios) == {"TC_SEP2_I5_004", "TC_SEP2_I7_005"}
    for scenario in scenarios.values():
        assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
        timeline = json.loads((out / scenario.timeline).read_text())
        mdns = [e for e in timeline if e["protocol"] == "MDNS"]
        assert any(e["message"] == "query" and e["fields"]["smartenergy"] for e in mdns), scenario.id
        assert any(e["message"] == "response" and e["fields"].get("txt_first") == "txtvers" for e in mdns)
    logs = "".join(p.read_text() for p in (out / "logs").glob("*TC_SEP2_I5_004*"))
    assert "via=dns-sd" in logs, logs


def test_without_dns_sd_the_scenarios_are_not_applicable_and_clients_fall_back(tmp_path):
    out = tmp_path / "run"
    lab = _lab_with_option(tmp_path, "no-dnssd", "sep2.dnssd: false")
    tags = "protocol:ieee2030.5 and (req:SEP2-DISC-01 or id:TC_SEP2_I5_001)"
    proc = _run(out, "--lab", str(lab), "--interface", "5", "--tags", tags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = {s.id: s.verdict for s in Results.load(out).scenarios}
    assert verdicts == {"TC_SEP2_I5_001": "PASS", "TC_SEP2_I5_004": "NOT_APPLICABLE"}
