"""`vgi lab check`: one line per check on every shipped lab; a broken lab names each problem; `vgi run`
refuses a bench that cannot run; leftovers of a killed run are found and removed with --fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.cli import main
from harness.commands.preflight import (
    CHEAP_CHECKS,
    FAIL,
    OK,
    SKIP,
    certificate_problems,
    chain_problem,
    run_checks,
)
from harness.lab.loader import load_lab
from harness.transport import netns as ns
from lab_configs import DEFAULT_LAB, LAB_CONFIGS_DIR

ALL_LABS = sorted(LAB_CONFIGS_DIR.rglob("*.yaml"))
EXAMPLES = sorted((LAB_CONFIGS_DIR / "examples").glob("*.yaml"))
STATUSES = (OK, FAIL, SKIP)


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path, monkeypatch):
    """Owner records of these tests stay apart from real runs on the machine."""
    directory = tmp_path / "state"
    monkeypatch.setenv(ns.STATE_DIR_ENV, str(directory))
    return directory


def _check(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["lab", "check", *args])
    out = capsys.readouterr().out.splitlines()
    return code, out


def _lines(out: list[str]) -> list[str]:
    return [line for line in out if line.split(" ", 1)[0] in STATUSES]


@pytest.mark.parametrize("path", ALL_LABS, ids=lambda p: p.name)
def test_every_shipped_lab_validates(path, capsys):
    assert main(["lab", "validate", str(path)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", [DEFAULT_LAB, *EXAMPLES], ids=lambda p: p.name)
def test_check_gives_a_line_per_check_on_each_example(path, capsys):
    code, out = _check(capsys, str(path))
    assert code in (0, 1)
    lines = _lines(out)
    checks = {line.split()[1] for line in lines}
    assert {"capture", "tools", "leftovers", "dut"} <= checks, out
    assert "interface" in checks or "namespace" in checks
    for line in lines:
        assert "the check itself failed" not in line, line
        if line.startswith(FAIL):
            assert "-- remedy: " in line, line
    assert out[-1] == (
        "all checks passed" if code == 0 else f"{sum(x.startswith(FAIL) for x in lines)} check(s) failed"
    )


def test_invalid_lab_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    assert main(["lab", "check", str(bad)]) == 2


def test_embedded_lab_passes_the_cheap_checks():
    lines = list(run_checks(load_lab(DEFAULT_LAB), probes=False))
    assert [line for line in lines if line.failed] == []
    assert len({line.check for line in lines}) == len(CHEAP_CHECKS) + 1  # and the leftovers


# --- a broken lab: missing interface, expired certificate, nothing listening -----------------------


def _certificate(
    key: ec.EllipticCurvePrivateKey,
    subject: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer: str,
    not_after: datetime,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture
def expired_chain(tmp_path):
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    far = datetime.now(UTC) + timedelta(days=3650)
    ca = _certificate(ca_key, "Test SERCA", ca_key, "Test SERCA", far, True)
    leaf = _certificate(leaf_key, "dut", ca_key, "Test SERCA", datetime.now(UTC) - timedelta(days=1), False)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "dut.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return ca, leaf, ca_key


def _free_port() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::1", 0))
        return sock.getsockname()[1]


def _lab(tmp_path: Path, name: str, interface: str, extra: str = "", pixit: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"""\
name: {name}
dut: {{vendor: x, model: y, firmware: "1", serial: "2", roles: [secc], interfaces: [4]}}
access:
  kind: tcp
  interface: {interface}
{extra}pics:
  protocols: [din70121]
{pixit}"""
    )
    return path


def test_broken_lab_names_each_problem(tmp_path, expired_chain, capsys):
    """One lab, three problems: a missing interface, an expired certificate and a DUT address where
    nothing listens (not link-local, so it is probed without the interface); each its own FAIL line
    with a remedy."""
    port = _free_port()
    lab = _lab(
        tmp_path,
        "broken",
        "vgi-nosuch0",
        extra=f'  host: "::1"\n  port: {port}\n',
        pixit="pixit:\n  certificates: {trust_anchor: ca.pem, dut_cert: dut.pem, gone: nothing.pem}\n",
    )
    code, out = _check(capsys, str(lab))
    assert code == 1
    failed = [line for line in out if line.startswith(FAIL)]
    assert all("-- remedy: " in line for line in failed), failed
    expected = {
        "interface": "FAIL  interface     vgi-nosuch0: no such interface -- remedy: ",
        "expired": "dut_cert: dut.pem: expired on",
        "missing file": "gone: ",
        "nothing listening": f"FAIL  dut           TCP [::1]:{port}: ",
    }
    for problem, text in expected.items():
        assert sum(text in line for line in failed) == 1, (problem, out)
    assert len(failed) == len(expected), out
    # A link-local DUT address cannot be probed without its interface: a SKIP, not a second FAIL.
    link_local = _lab(tmp_path, "link-local", "vgi-nosuch0", extra=f'  host: "fe80::1"\n  port: {port}\n')
    code, out = _check(capsys, str(link_local))
    dut = [line for line in out if " dut " in line]
    assert dut == ["SKIP  dut           vgi-nosuch0 missing (see the interface line)"], out


def test_nothing_listening_on_a_present_interface_is_the_only_failure(tmp_path, capsys):
    port = _free_port()
    silent = _lab(tmp_path, "nothing-listening", "lo", extra=f'  host: "::1"\n  port: {port}\n')
    code, out = _check(capsys, str(silent))
    assert code == 1
    failed = [line for line in out if line.startswith(FAIL)]
    assert len(failed) == 1 and f"TCP [::1]:{port}" in failed[0], out


def test_listening_dut_passes(tmp_path, capsys):
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
        server.bind(("::1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        lab = _lab(tmp_path, "listening", "lo", extra=f'  host: "::1"\n  port: {port}\n')
        code, out = _check(capsys, str(lab))
    assert code == 0, out
    assert any(line.startswith("OK    dut") and "accepts connections" in line for line in out)


def test_certificate_rules(expired_chain):
    ca, leaf, _ca_key = expired_chain
    assert certificate_problems(ca, profile=False, device=False) == []
    assert any("expired" in p for p in certificate_problems(leaf, profile=False, device=True))
    assert chain_problem([leaf], [ca]) is None
    other = ec.generate_private_key(ec.SECP256R1())
    stranger = _certificate(other, "x", other, "Other CA", datetime.now(UTC) + timedelta(days=1), True)
    assert "no issuer" in (chain_problem([stranger], [ca]) or "")
    # 2030.5 profile: a plain certificate lacks the device extensions
    problems = certificate_problems(ca, profile=True, device=True)
    assert any("hardwareModuleName" in p for p in problems)


def test_lab_pki_fits_the_profile(pki_dir, tmp_path, capsys):
    lab = tmp_path / "pki.yaml"
    lab.write_text(
        f"""\
name: pki
dut: {{vendor: x, model: y, firmware: "1", serial: "2", roles: [evse], interfaces: [5]}}
access: {{kind: tcp, interface: lo}}
pics: {{protocols: [ieee2030.5]}}
pixit: {{certificates: {{sep2_pki: {pki_dir}}}}}
"""
    )
    lines = [line for line in run_checks(load_lab(lab), probes=False) if line.check == "certificates"]
    assert lines and all(line.status == OK for line in lines), lines


# --- vgi run refuses a bench that cannot run --------------------------------------------------------


def test_run_refuses_with_the_failing_line(tmp_path, capsys):
    lab = _lab(tmp_path, "no-interface", "vgi-nosuch0")
    code = main(["run", "--lab", str(lab), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "vgi-nosuch0: no such interface" in err and "remedy" in err
    assert not (tmp_path / "run").exists()


# --- leftovers of a killed run ----------------------------------------------------------------------


def _dead_owner_record(state: Path, child: subprocess.Popen) -> Path:
    owner = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    pid = int(owner.stdout)
    record = state / ns.OWNERS_DIR / f"{pid}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps(
            {
                "pid": pid,
                "start_time": 1,  # not the start time of any process that has this PID now
                "argv": ["vgi", "run"],
                "run_dir": None,
                "links": [],
                "processes": [
                    {"pid": child.pid, "start_time": ns.process_start_time(child.pid), "argv": ["sleep"]}
                ],
            }
        )
    )
    return record


def test_fix_removes_what_a_killed_run_left(private_state_dir, capsys):
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        record = _dead_owner_record(private_state_dir, child)
        code, out = _check(capsys, "--no-probes", str(DEFAULT_LAB))
        leftovers = next(line for line in out if " leftovers " in line)
        assert code == 1 and leftovers.startswith(FAIL) and f"process {child.pid}" in leftovers
        code, out = _check(capsys, "--no-probes", "--fix", str(DEFAULT_LAB))
        assert code == 0, out
        assert child.wait(timeout=10) == -9
        assert not record.exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_live_run_is_never_reaped(private_state_dir):
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        record = ns.OwnerRecord(private_state_dir)
        record.add_process(child.pid, ["sleep", "60"])  # owned by this (live) test process
        assert ns.find_leftovers(private_state_dir) == []
        assert ns.reap_all(private_state_dir) == []
        assert child.poll() is None
        record.clear()
        assert not record.path.exists()
    finally:
        child.kill()
        child.wait()


def test_a_reused_pid_is_not_taken_for_the_dead_runs_process(private_state_dir):
    record = private_state_dir / ns.OWNERS_DIR / "1.json"
    record.parent.mkdir(parents=True)
    me = os.getpid()  # alive, but not the process the record names (other start time)
    record.write_text(
        json.dumps(
            {
                "pid": 999_999_999,
                "start_time": 1,
                "argv": [],
                "links": [],
                "processes": [{"pid": me, "start_time": 1, "argv": ["x"]}],
            }
        )
    )
    (left,) = ns.find_leftovers(private_state_dir)
    assert left.empty


# --- a process DUT run through one of the harness's launchers needs its private venv built -----------


def test_launcher_venv_must_be_built_before_the_dut_runs_in_its_namespace(tmp_path, monkeypatch):
    from harness.dut import private_venv

    monkeypatch.setattr(private_venv, "CACHE_ROOT", tmp_path / "cache")
    lab = tmp_path / "launcher.yaml"
    lab.write_text(
        """\
name: launcher
dut: {vendor: x, model: y, firmware: "1", serial: "2", roles: [evse], interfaces: [2]}
access:
  kind: process
  command: ["{python}", "-m", "harness.dut.pyslac_dut", "--interface", "{interface}"]
pics: {protocols: [slac]}
"""
    )
    loaded = load_lab(lab)
    (line,) = [line for line in run_checks(loaded, probes=False) if line.check == "command"]
    assert line.failed and line.blocking, line
    assert "is not built" in line.detail and line.remedy == f"{sys.executable} -m harness.dut.pyslac_env"
    python = private_venv.python_in(tmp_path / "cache" / "pyslac-0.8.3" / "venv")
    python.parent.mkdir(parents=True)
    python.touch()
    (line,) = [line for line in run_checks(loaded, probes=False) if line.check == "command"]
    assert line.status == OK and str(python.parent.parent) in line.detail, line


def test_a_server_lab_pki_without_the_unregistered_identity_is_named(pki_dir, tmp_path):
    """The session PKI (harness.pki.hierarchy.init_pki with the default roles) has no 'unregistered'
    device; a lab testing a 2030.5 server needs it for the unregistered-LFDI scenarios."""
    lab = tmp_path / "server.yaml"
    lab.write_text(
        f"""\
name: server
dut: {{vendor: x, model: y, firmware: "1", serial: "2", roles: [pfe-server], interfaces: [7]}}
access: {{kind: tcp, interface: lo}}
pics: {{protocols: [ieee2030.5], options: {{sep2.dnssd: false}}}}
pixit: {{certificates: {{sep2_pki: {pki_dir}}}}}
"""
    )
    lines = [line for line in run_checks(load_lab(lab), probes=False) if line.check == "certificates"]
    failed = [line for line in lines if line.failed]
    assert len(failed) == 1 and "'unregistered'" in failed[0].detail, lines
    assert failed[0].remedy == f"vgi pki init {pki_dir} --role unregistered"
    assert not failed[0].blocking  # only two scenarios need it


def test_each_station_gets_its_own_interface_and_dut_checks(tmp_path, capsys):
    """Two units on two interfaces: the one whose adapter is missing and the one nobody listens for are each
    named by station; the checks of the machine (tools, certificates...) run once."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
        server.bind(("::1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        silent = _free_port()
        stations = (
            "stations:\n"
            f'  - {{name: bench-a, serial: "A1", access: {{interface: lo, host: "::1", port: {port}}}}}\n'
            "  - {name: bench-b, serial: B2, access: "
            f'{{interface: absent9, host: "::1", port: {silent}}}}}\n'
        )
        lab = _lab(tmp_path, "two-benches", "lo", extra=f'  host: "::1"\n  port: {port}\n{stations}')
        code, out = _check(capsys, str(lab))
    assert code == 1, out
    assert any(line.startswith("OK    interface") and "station bench-a: lo up" in line for line in out), out
    failed = [line for line in out if line.startswith(FAIL)]
    assert any("station bench-b: absent9: no such interface" in line for line in failed), out
    assert not any("bench-a" in line for line in failed), out
    assert len([line for line in out if line.split()[1:2] == ["tools"]]) == 1, out
