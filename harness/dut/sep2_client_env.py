"""A private virtual environment with cactus-client, an independent IEEE 2030.5 client, for interop tests.

cactus-client (the CSIP-AUS virtual client of the Australian National University's CACTUS project,
MIT) brings aiohttp, pydantic-xml and its own 2030.5 schema models (envoy-schema), none of which the
harness shares, so it lives in a venv of its own: ``sep2_client_python()`` builds it once under
``~/.cache/vgi/cactus-client-<version>/`` and returns its interpreter; a venv that fails its import
check is rebuilt.  :mod:`harness.dut.sep2_client_dut` runs the client from that interpreter.

cactus-client and its test definitions declare ``Requires-Python >=3.12``; the harness runs on 3.11.
Their code imports and runs on 3.11 (the import check proves it on every use), so pip is told to
ignore that declaration; the versions that share code with the launcher are pinned so that a later
release cannot start using 3.12-only syntax behind our back.

The venv needs PyPI; a DUT runs in a network namespace without it, so build the venv first (the
interop test does): ``python -m harness.dut.sep2_client_env``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

CLIENT_DISTRIBUTION = "cactus-client"
CLIENT_VERSION = "1.1.0"
# Libraries the launcher reaches through the client (its test-definition model and its 2030.5 schema),
# pinned to the versions cactus-client 1.1.0 was checked with here.
PINNED_DEPENDENCIES = (
    "cactus-test-definitions==1.18.2",
    "envoy-schema==1.5.1",
    "cactus-schema==1.4.0",
)
# cactus-client declares Python >=3.12 but runs on 3.11 (see the module docstring).
PIP_EXTRA_OPTIONS = ("--ignore-requires-python",)
CACHE_ROOT = Path(os.environ.get("VGI_CACHE_DIR", Path.home() / ".cache" / "vgi"))
CACHE_DIR = CACHE_ROOT / f"cactus-client-{CLIENT_VERSION}"
# What must import for the venv to count as healthy: every cactus-client module the launcher uses.
IMPORT_CHECK = (
    "import aiohttp, cactus_client.action.discovery, cactus_client.action.end_device, "
    "cactus_client.action.der_controls, cactus_client.check.end_device, cactus_client.execution.build"
)
PIP_TIMEOUT_S = 900  # a cold install downloads cactus-client and about 40 dependencies
IMPORT_CHECK_TIMEOUT_S = 120


class Sep2ClientEnvError(RuntimeError):
    """The client's environment could not be built or used; the message says what to install or fix."""


def python_in(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def healthy(python: Path) -> bool:
    """Whether ``python`` exists and imports what the launcher needs."""
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", IMPORT_CHECK], capture_output=True, timeout=IMPORT_CHECK_TIMEOUT_S
    )
    return probe.returncode == 0


def pip_command(python: Path) -> list[str]:
    """The pip invocation that installs the pinned client into the venv of ``python``."""
    return [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        *PIP_EXTRA_OPTIONS,
        f"{CLIENT_DISTRIBUTION}=={CLIENT_VERSION}",
        *PINNED_DEPENDENCIES,
    ]


def sep2_client_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with cactus-client; built on first use, rebuilt if its import check fails."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv_dir = cache_dir / "venv"
    python = python_in(venv_dir)
    with open(cache_dir / ".lock", "w") as lock:
        # Two test processes may ask at once; the second waits and then finds a healthy venv.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if healthy(python):
            return python
        if venv_dir.exists():
            shutil.rmtree(venv_dir)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except Exception as exc:  # noqa: BLE001 - any failure here is a setup problem to report
            raise Sep2ClientEnvError(
                f"could not create a venv in {venv_dir}: {exc} (is python3-venv installed?)"
            ) from exc
        if not python.exists():
            raise Sep2ClientEnvError(f"venv at {venv_dir} has no python")
        what = f"{CLIENT_DISTRIBUTION}=={CLIENT_VERSION}"
        try:
            result = subprocess.run(
                pip_command(python), capture_output=True, text=True, timeout=PIP_TIMEOUT_S
            )
        except FileNotFoundError as exc:
            raise Sep2ClientEnvError(f"pip is missing from the venv: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise Sep2ClientEnvError(f"pip install of {what} took over {PIP_TIMEOUT_S} s") from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise Sep2ClientEnvError(
                f"pip install {what} failed (needs PyPI; inside a DUT namespace there is none: "
                "build it first with `python -m harness.dut.sep2_client_env`): " + " | ".join(tail)
            )
        if not healthy(python):
            raise Sep2ClientEnvError(f"{what} venv at {venv_dir} installed but `{IMPORT_CHECK}` fails")
        return python


if __name__ == "__main__":
    print(sep2_client_python())
    sys.exit(0)
