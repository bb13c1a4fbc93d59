"""The harness works from an installed (non-editable) wheel, from any directory, as a vendor's CI uses it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = work.glob("vgi_harness-*.whl")
    site = work / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return site


def _vgi(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # PYTHONPATH first, so the installed copy wins over the editable one of the development venv.
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_installed_copy_is_used(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run(
        [sys.executable, "-c", "import harness, features, steps; print(harness.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.stdout.strip().startswith(str(installed)), out.stdout + out.stderr


def test_list_and_validate_from_another_directory(installed, tmp_path):
    listing = _vgi(installed, tmp_path, "list")
    assert listing.returncode == 0 and "TC_SDP_SECC_001" in listing.stdout, listing.stderr
    sim = installed / "lab_configs" / "sim.yaml"
    assert _vgi(installed, tmp_path, "lab", "validate", str(sim)).returncode == 0


def test_run_one_scenario_from_another_directory(installed, tmp_path):
    proc = _vgi(installed, tmp_path, "run", "--tags", "id:TC_SDP_SECC_001")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = list((tmp_path / "reports" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "report.html").is_file()
