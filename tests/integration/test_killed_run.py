"""A `vgi run` killed with SIGKILL (a CI timeout, the OOM killer) leaves its namespace, its veth pair,
the reference DUT and its capture running; `vgi lab check` names them and the next `vgi run` removes
them before it runs, and passes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.transport import netns as ns

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root to make network namespaces"
    ),
]

# A scenario long enough to be killed in: a whole DIN SPEC 70121 session against the reference SECC.
SCENARIO = "id:TC_DIN_SECC_001"
# Bound on waiting for the first run to have its namespace and DUT up.
START_BOUND_S = 120.0


def _vgi(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env, **kwargs
    )


def _capture_processes(run_dir: Path) -> list[int]:
    return [
        pid
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit())
        if (argv := ns._cmdline(pid)) and Path(argv[0]).name == "dumpcap" and str(run_dir) in " ".join(argv)
    ]


def test_the_next_run_reaps_a_killed_run(tmp_path):
    env = {**os.environ, ns.STATE_DIR_ENV: str(tmp_path / "state")}
    first_dir = tmp_path / "killed"
    first = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--tags", SCENARIO, "--out", str(first_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record = tmp_path / "state" / ns.OWNERS_DIR / f"{first.pid}.json"
    data = None
    deadline = time.monotonic() + START_BOUND_S
    try:
        # Wait for the event (namespace and DUT recorded), polling the owner record the run writes.
        while time.monotonic() < deadline and first.poll() is None:
            try:
                data = json.loads(record.read_text())
            except (OSError, ValueError):
                data = None
            if data and data["links"] and data["processes"]:
                break
            time.sleep(0.02)
        assert data and data["links"] and data["processes"], "the run never had its namespace and DUT up"
    finally:
        first.kill()
        first.wait()
    netns = data["links"][0]["netns"]
    veth = data["links"][0]["tester_interface"]
    dut = data["processes"][0]
    # What the kill leaves behind (the measurement of issue 13).
    assert netns in ns.namespaces()
    assert ns.process_alive(dut["pid"], dut["start_time"])

    check = _vgi("lab", "check", "--no-probes", env=env, timeout=60)
    assert check.returncode == 1, check.stdout
    leftovers = next(line for line in check.stdout.splitlines() if " leftovers " in line)
    assert leftovers.startswith("FAIL") and f"namespace {netns}" in leftovers and "--fix" in leftovers

    second_dir = tmp_path / "next"
    second = _vgi("run", "--tags", SCENARIO, "--out", str(second_dir), env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "removed what a killed run left" in second.stderr and f"namespace {netns}" in second.stderr
    assert netns not in ns.namespaces()
    assert not ns.interface_exists(veth)
    assert not ns.process_alive(dut["pid"], dut["start_time"])
    assert _capture_processes(first_dir) == []
    assert not record.exists()
    assert list((tmp_path / "state" / ns.OWNERS_DIR).glob("*.json")) == []  # the second run cleaned up too

    after = _vgi("lab", "check", "--no-probes", env=env, timeout=60)
    assert after.returncode == 0, after.stdout


def test_lab_check_fix_reaps_a_killed_run(tmp_path):
    """The same, cleaned by `vgi lab check --fix` instead of a run."""
    env = {**os.environ, ns.STATE_DIR_ENV: str(tmp_path / "state")}
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from harness.transport.netns import create_veth_link; link = create_veth_link(); "
            "print(link.netns, link.tester_interface, flush=True); sys.stdin.read()",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        netns, veth = owner.stdout.readline().split()
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert netns in ns.namespaces() and ns.interface_exists(veth)
    fixed = _vgi("lab", "check", "--no-probes", "--fix", env=env, timeout=60)
    assert fixed.returncode == 0, fixed.stdout
    assert f"namespace {netns}" in fixed.stdout
    assert netns not in ns.namespaces() and not ns.interface_exists(veth)
