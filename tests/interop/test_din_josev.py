"""Interop: the DIN SPEC 70121 and ISO 15118-2 features against josev (iso15118 0.31.2) as the DUT, in both
roles (lab_configs/josev-*.yaml: DIN SPEC 70121; josev-*-iso2.yaml: ISO 15118-2).

josev runs from its own venv in a network namespace on a veth pair (lab_configs/josev-*.yaml), with its
JVM warmed up by the launcher (harness/dut/josev_dut.py). Expected verdicts, asserted explicitly:

* josev's EVCC: the complete session PASSes.
* josev's SECC: the complete session runs through every stage with correct responses, but the scenario
  is FAIL on one check only, DIN-SECC-TIME-01: josev's EXI path (EXIficient over py4j, ~15 ms per call
  even warm) makes its CurrentDemandRes later than the 25 ms of DIN SPEC 70121 Table 75. The failing
  check names the frames and the measured time.
* In ISO 15118-2 the same: josev's EVCC passes the complete session; josev's SECC completes it with correct
  responses and fails only ISO2-SECC-TIME-01 (the 25 ms CurrentDemand performance time of ISO 15118-2
  Table 109). Its refusals (FAILED_UnknownSession, FAILED_SequenceError) and pause/resume pass. Over every
  ISO 15118-2 scenario (interop_full) the deviations are listed in JOSEV_ISO2_SECC_FAILS and
  JOSEV_ISO2_EVCC_FAILS, each with the requirement it fails.
* ISO 15118-2 over TLS (josev-*-iso2-tls.yaml, the launcher's --tls with the lab's V2G PKI): josev's
  SECC grants TLS, presents the lab's SECC chain and serves the complete session inside TLS 1.2 with
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (failing, as in plain TCP, only the 25 ms CurrentDemand
  performance time, ISO2-SECC-TIME-01), and refuses plain V2G on its TLS port; josev's EVCC asks for
  TLS, verifies the tester's chain to the lab's V2G root and charges inside TLS. Every V2G message is
  decrypted from the capture with the tester's key log. One deviation: when the chain cannot be verified
  (unknown root, expired SECC certificate) josev's EVCC aborts the handshake and sends no V2G message,
  but closes the TCP connection without the fatal alert RFC 5246 7.2.2 requires (ISO2-TLS-EVCC-02): its
  asyncio TLS transport drops the alert OpenSSL wrote (CPython gh-98078, Python 3.11). CI runs the EVCC's
  complete TLS session only; the rest is interop_full.

Needs root (network namespaces) and Java 17; the first run builds josev's venv from PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.model import Results

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 1800
# The DIN SPEC 70121 complete session of a role (not the PLC one, not ISO 15118-2's).
DIN_FULL_SESSION = "full_session and dut:{role} and protocol:din70121 and not plc"


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    if os.geteuid() != 0:
        pytest.skip("josev runs in its own network namespace on a veth pair: needs root")
    if shutil.which("java") is None:
        pytest.skip("java not found: josev's EXI codec (EXIficient) needs Java 17")
    from harness.dut.josev_env import josev_python

    josev_python()  # build the venv once, outside the runs' DUT start timeout


def _run(out: Path, lab: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--lab",
            str(REPO_ROOT / "lab_configs" / lab),
            "--out",
            str(out),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def test_josev_evcc_full_session_passes(tmp_path):
    out = tmp_path / "run"
    proc = _run(
        out, "josev-evcc.yaml", "--tags", "full_session and dut:evcc and protocol:din70121 and not plc"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.id == "TC_DIN_EVCC_001"
    assert scenario.verdict == "PASS", scenario.reason


def test_josev_secc_full_session_fails_only_on_current_demand_time(tmp_path):
    out = tmp_path / "run"
    proc = _run(
        out, "josev-secc.yaml", "--tags", "full_session and dut:secc and protocol:din70121 and not plc"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.id == "TC_DIN_SECC_001"
    assert scenario.verdict == "FAIL"
    failed = [c for c in scenario.checks if c.verdict != "PASS"]
    assert [c.requirement for c in failed] == ["DIN-SECC-TIME-01"], [
        (c.requirement, c.reason) for c in failed
    ]
    assert "limit 25.0 ms" in failed[0].reason and len(failed[0].frames) == 2
    # the session itself is complete and correct: sequence, codes, SessionID, 2 s answers
    passed = {c.requirement for c in scenario.checks if c.verdict == "PASS"}
    assert {"DIN-SECC-01", "DIN-SECC-02", "DIN-SECC-03", "DIN-SECC-TIME-02"} <= passed


@pytest.mark.interop_full
@pytest.mark.parametrize("lab", ["josev-evcc.yaml", "josev-secc.yaml"])
def test_every_din_scenario_ends_with_a_verdict_and_a_reason(tmp_path, lab):
    out = tmp_path / "run"
    _run(out, lab, "--tags", "protocol:din70121")
    scenarios = Results.load(out).scenarios
    assert len(scenarios) >= 30
    for scenario in scenarios:
        assert scenario.verdict in ("PASS", "FAIL", "NOT_APPLICABLE"), (
            scenario.id,
            scenario.verdict,
            scenario.reason,
        )
        assert scenario.reason, scenario.id


def test_josev_iso2_evcc_full_session_passes(tmp_path):
    out = tmp_path / "run"
    proc = _run(out, "josev-evcc-iso2.yaml", "--tags", "full_session and dut:evcc and protocol:iso15118-2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.id == "TC_ISO2_EVCC_001"
    assert scenario.verdict == "PASS", scenario.reason


def test_josev_iso2_secc_full_session_fails_only_on_current_demand_time(tmp_path):
    out = tmp_path / "run"
    proc = _run(out, "josev-secc-iso2.yaml", "--tags", "full_session and dut:secc and protocol:iso15118-2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.id == "TC_ISO2_SECC_001"
    failed = [c for c in scenario.checks if c.verdict != "PASS"]
    assert {c.requirement for c in failed} == {"ISO2-SECC-TIME-01"}, [
        (c.requirement, c.reason) for c in failed
    ]
    assert all("CurrentDemandReq" in c.description and "limit 25.0 ms" in c.reason for c in failed)
    assert all(len(c.frames) == 2 for c in failed)
    passed = {c.requirement for c in scenario.checks if c.verdict == "PASS"}
    assert {"ISO2-SECC-01", "ISO2-SECC-02", "ISO2-SECC-03"} <= passed


# josev's ISO 15118-2 deviations, each a FAIL naming its requirement (measured 2026-12-02 with 0.31.2):
# CurrentDemandRes later than 25 ms (its EXI path, ~15 ms per encode or decode); no answer at all to a
# ChargeParameterDiscoveryReq asking for an AC mode (ISO2-SECC-13: FAILED_WrongEnergyTransferMode); a
# negative EVTargetCurrent in a session without a SAE J2847/2 service is answered OK and sunk
# (J2847-2-BPT-05).
JOSEV_ISO2_SECC_FAILS = {
    "TC_ISO2_SECC_001": {"ISO2-SECC-TIME-01"},
    "TC_ISO2_SECC_006[energy-transfer]": {"ISO2-SECC-TIME-01"},
    "TC_ISO2_SECC_008": {"ISO2-SECC-TIME-01"},
    "TC_ISO2_SECC_009": {"ISO2-SECC-13"},
    "TC_ISO2_SECC_011": {"ISO2-SECC-15"},
    "TC_BPT_SECC_003": {"J2847-2-BPT-05"},
}
# The EVCC: it keeps sending CurrentDemandReq when a CurrentDemandRes is 350 ms late (the 250 ms timeout of
# Table 109) and when CurrentDemandRes says EVSE_EmergencyShutdown.
JOSEV_ISO2_EVCC_FAILS = {
    "TC_ISO2_EVCC_007[CurrentDemandRes-2-CurrentDemandReq-WeldingDetectionReq]": {"ISO2-EVCC-10"},
    "TC_ISO2_EVCC_011[emergency shutdown]": {"ISO2-EVCC-12"},
}


@pytest.mark.interop_full
@pytest.mark.parametrize(
    ("lab", "role", "fails"),
    [
        ("josev-secc-iso2.yaml", "secc", JOSEV_ISO2_SECC_FAILS),
        ("josev-evcc-iso2.yaml", "evcc", JOSEV_ISO2_EVCC_FAILS),
    ],
)
def test_josev_iso2_every_scenario(tmp_path, lab, role, fails):
    out = tmp_path / "run"
    _run(out, lab, "--tags", f"protocol:iso15118-2 and dut:{role}")
    scenarios = Results.load(out).scenarios
    failed = {
        s.id: {c.requirement for c in s.checks if c.verdict == "FAIL"}
        for s in scenarios
        if s.verdict == "FAIL"
    }
    assert failed == fails
    # the rest pass, or do not apply (DIN SPEC 70121 also needed, TLS and J2847/2 options josev lacks)
    assert {s.verdict for s in scenarios if s.id not in fails} <= {"PASS", "NOT_APPLICABLE"}
    assert sum(s.verdict == "PASS" for s in scenarios) >= 14


def test_josev_iso2_tls_evcc_full_session_passes(tmp_path):
    out = tmp_path / "run"
    proc = _run(
        out, "josev-evcc-iso2-tls.yaml", "--tags", "tls and protocol:iso15118-2 and dut:evcc and not negative"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.id == "TC_ISO2_TLS_EVCC_001"
    assert scenario.verdict == "PASS", scenario.reason
    # the session was judged from inside TLS: its first and last requests decrypted with the key log
    decrypted = [c for c in scenario.checks if "decrypted from the TLS session" in c.description]
    assert len(decrypted) == 2 and all(c.verdict == "PASS" and c.frames for c in decrypted)


# josev's ISO 15118-2 TLS verdicts that are not PASS (measured 2026-12-02 with 0.31.2 on Python 3.11): its
# SECC answers CurrentDemandReq later than 25 ms inside TLS as in plain TCP; its EVCC aborts a handshake whose
# chain it cannot verify without sending the fatal alert (RFC 5246 7.2.2; CPython gh-98078), while the
# other checks of those scenarios (no V2G message) pass.
JOSEV_ISO2_TLS_FAILS = {
    "TC_ISO2_TLS_SECC_001": {"ISO2-SECC-TIME-01"},
    "TC_ISO2_TLS_EVCC_002[from an unknown root-unknown_ca]": {"ISO2-TLS-EVCC-02"},
    "TC_ISO2_TLS_EVCC_002[with an expired SECC certificate-certificate_expired]": {"ISO2-TLS-EVCC-02"},
}
# What the failing checks of each are about (their descriptions)
JOSEV_ISO2_TLS_FAILED_CHECKS = {"ISO2-SECC-TIME-01": "CurrentDemandReq", "ISO2-TLS-EVCC-02": "TLS alert"}


@pytest.mark.interop_full
@pytest.mark.parametrize(
    ("lab", "role", "scenario_ids"),
    [
        ("josev-secc-iso2-tls.yaml", "secc", {"TC_ISO2_TLS_SECC_001", "TC_ISO2_TLS_SECC_002"}),
        (
            "josev-evcc-iso2-tls.yaml",
            "evcc",
            {
                "TC_ISO2_TLS_EVCC_001",
                "TC_ISO2_TLS_EVCC_002[from an unknown root-unknown_ca]",
                "TC_ISO2_TLS_EVCC_002[with an expired SECC certificate-certificate_expired]",
            },
        ),
    ],
)
def test_josev_iso2_tls_every_scenario(tmp_path, lab, role, scenario_ids):
    out = tmp_path / "run"
    _run(out, lab, "--tags", f"tls and protocol:iso15118-2 and dut:{role}")
    scenarios = Results.load(out).scenarios
    assert {s.id for s in scenarios} == scenario_ids
    for scenario in scenarios:
        if scenario.id in JOSEV_ISO2_TLS_FAILS:
            assert scenario.verdict == "FAIL", (scenario.id, scenario.reason)
            failed = [c for c in scenario.checks if c.verdict != "PASS"]
            assert {c.requirement for c in failed} == JOSEV_ISO2_TLS_FAILS[scenario.id], [
                (c.requirement, c.reason) for c in failed
            ]
            for check in failed:
                assert JOSEV_ISO2_TLS_FAILED_CHECKS[check.requirement] in check.description, check.description
        else:
            assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
    # the verdicts come back the same from the captures and their key logs alone
    analyzed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(out)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
