"""A private virtual environment with pyslac 0.8.3 (Switch EV's ISO 15118-3 SLAC stack, EVSE side), for
the SLAC interop test and as a DUT (:mod:`harness.dut.pyslac_dut`).

pyslac pins environs 9, which the harness does not use; it lives in its own venv under
``~/.cache/vgi/pyslac-0.8.3/``, built once from PyPI by :func:`pyslac_python` (under a file lock, so
two test processes asking at once build it once) and rebuilt when its import check fails.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

PYSLAC_VERSION = "0.8.3"
# environs 9 (pyslac's pin) predates marshmallow 4, which dropped APIs environs 9 uses.
PYSLAC_EXTRA_PACKAGES = ("marshmallow<4",)
CACHE_DIR = Path(os.environ.get("VGI_CACHE_DIR", Path.home() / ".cache" / "vgi")) / f"pyslac-{PYSLAC_VERSION}"
# What must import (and build) for the venv to count as healthy.
IMPORT_CHECK = (
    "import pyslac.session, pyslac.environment; "
    "c = pyslac.environment.Config(); c.load_envs(); "
    f"assert pyslac.__version__ == {PYSLAC_VERSION!r}, pyslac.__version__"
)
PIP_TIMEOUT_S = 600
IMPORT_CHECK_TIMEOUT_S = 120


class PyslacEnvError(RuntimeError):
    """The pyslac environment could not be built; the message says what to install or fix."""


def _python_in(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def _healthy(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", IMPORT_CHECK], capture_output=True, timeout=IMPORT_CHECK_TIMEOUT_S, cwd="/"
    )
    return probe.returncode == 0


def pyslac_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with pyslac==0.8.3; built on first use, rebuilt if broken."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv_dir = cache_dir / "venv"
    python = _python_in(venv_dir)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _healthy(python):
            return python
        if venv_dir.exists():
            shutil.rmtree(venv_dir)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except Exception as exc:  # noqa: BLE001 - any failure here is a setup problem to report
            raise PyslacEnvError(
                f"could not create a venv in {venv_dir}: {exc} (is python3-venv installed?)"
            ) from exc
        cmd = [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            f"pyslac=={PYSLAC_VERSION}",
            *PYSLAC_EXTRA_PACKAGES,
        ]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
            raise PyslacEnvError(f"pip install pyslac=={PYSLAC_VERSION} did not finish: {exc}") from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise PyslacEnvError(f"pip install pyslac=={PYSLAC_VERSION} failed: " + " | ".join(tail))
        if not _healthy(python):
            raise PyslacEnvError(f"pyslac venv at {venv_dir} installed but its import check fails")
        return python


if __name__ == "__main__":
    print(pyslac_python())
    sys.exit(0)
