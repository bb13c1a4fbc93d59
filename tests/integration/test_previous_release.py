"""Run directories written by an earlier release re-judge to the same verdicts with this one.

A lab keeps run directories for years and re-derives verdicts from them (`vgi analyze RUN_DIR`). This test
makes such a directory with the release before the protocol kernel refactor (issue 9), checked out from
this repository's own history into a git worktree and run from there, then re-judges it with the working
tree's code: every verdict must come out the same, from the captures and the stored check specs alone.
No captures are committed; the old release writes them fresh.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
# The last commit before the shared protocol kernel (issue 9): its run directories are the ones whose
# stored specs and captures this release must keep reading.
PREVIOUS_RELEASE = "348770658056ac32f1cb6a5423e59535bec10827"
# One scenario per protocol family, in both DUT roles where the family has two, so every timeline
# decoder and every expectation kind the old release stored is read back.
SCENARIOS = (
    "TC_SDP_SECC_001",
    "TC_SDP_EVCC_001",
    "TC_DIN_SECC_001",
    "TC_DIN_EVCC_001",
    "TC_SLAC_EVSE_001",
    "TC_SLAC_EV_001",
    "TC_PILOT_EVSE_001",
    "TC_SEP2_I7_001",
    "TC_SEP2_I1_003",
)


def _git(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the previous release cannot be checked out")
    if _git("cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {PREVIOUS_RELEASE[:10]} is not in this clone's history (shallow clone?)")
    base = tmp_path_factory.mktemp("previous")
    worktree = base / "release"
    added = _git("worktree", "add", "--detach", str(worktree), PREVIOUS_RELEASE)
    assert added.returncode == 0, added.stderr
    try:
        out = base / "run"
        tags = " or ".join(f"id:{scenario}" for scenario in SCENARIOS)
        # `python -m` from the worktree imports the old release's packages (the current directory comes
        # first on sys.path); the dependencies are the same set in both releases.
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--tags", tags, "--out", str(out)],
            cwd=worktree,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert (out / "results.json").is_file(), proc.stdout + proc.stderr
        written_by = json.loads((out / "results.json").read_text())["run"]["git_commit"]
        assert written_by == PREVIOUS_RELEASE, f"the run was written by {written_by}, not the old release"
        yield out
    finally:
        _git("worktree", "remove", "--force", str(worktree))


def test_previous_release_run_directory_rejudges_to_the_same_verdicts(previous_run: Path) -> None:
    stored = json.loads((previous_run / "results.json").read_text())
    live = {s["id"]: s["verdict"] for s in stored["scenarios"]}
    assert {scenario_id.split("[")[0] for scenario_id in live} >= set(SCENARIOS)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", "--json", str(previous_run)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    judged = {s["id"]: s for s in json.loads(proc.stdout)["scenarios"]}
    assert {k: v["verdict"] for k, v in judged.items()} == live
    assert all(s["from_capture"] for s in judged.values())
