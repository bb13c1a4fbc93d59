"""A private virtual environment with cactus-client, an independent IEEE 2030.5 client, for interop tests.

cactus-client (the CSIP-AUS virtual client of the Australian National University's CACTUS project,
MIT) brings aiohttp, pydantic-xml and its own 2030.5 schema models (envoy-schema), none of which the
harness shares, so it lives in a venv of its own: ``sep2_client_python()`` builds it once under
``~/.cache/vgi/cactus-client-<version>/`` and returns its interpreter; a venv that fails its import
check is rebuilt (the builder is :mod:`harness.dut.private_venv`).  :mod:`harness.dut.sep2_client_dut`
runs the client from that interpreter.

cactus-client and its test definitions declare ``Requires-Python >=3.12``; the harness runs on 3.11.
Their code imports and runs on 3.11 (the import check proves it on every use), so pip is told to
ignore that declaration; the versions that share code with the launcher are pinned so that a later
release cannot start using 3.12-only syntax behind our back.

The venv needs PyPI; a DUT runs in a network namespace without it, so build the venv first (the
interop test does): ``python -m harness.dut.sep2_client_env``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.dut import private_venv
from harness.dut.private_venv import PrivateVenv, PrivateVenvError, venv_python

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
# What must import for the venv to count as healthy: every cactus-client module the launcher uses.
IMPORT_CHECK = (
    "import aiohttp, cactus_client.action.discovery, cactus_client.action.end_device, "
    "cactus_client.action.der_controls, cactus_client.check.end_device, cactus_client.execution.build"
)


class Sep2ClientEnvError(PrivateVenvError):
    """The client's environment could not be built or used; the message says what to install or fix."""


VENV = PrivateVenv(
    cache_name=f"{CLIENT_DISTRIBUTION}-{CLIENT_VERSION}",
    requirements=(f"{CLIENT_DISTRIBUTION}=={CLIENT_VERSION}", *PINNED_DEPENDENCIES),
    import_check=IMPORT_CHECK,
    pip_options=PIP_EXTRA_OPTIONS,
    install_hint=(
        "needs PyPI; a DUT's network namespace has none: build it first with "
        "`python -m harness.dut.sep2_client_env`"
    ),
    error=Sep2ClientEnvError,
)
CACHE_ROOT = private_venv.CACHE_ROOT
CACHE_DIR = VENV.default_cache_dir()
python_in = private_venv.python_in


def healthy(python: Path) -> bool:
    """Whether ``python`` exists and imports what the launcher needs."""
    return private_venv.healthy(python, IMPORT_CHECK)


def pip_command(python: Path) -> list[str]:
    """The pip invocation that installs the pinned client into the venv of ``python``."""
    return private_venv.pip_command(python, VENV)


def sep2_client_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with cactus-client; built on first use, rebuilt if its import check fails."""
    return venv_python(VENV, cache_dir)


if __name__ == "__main__":
    print(sep2_client_python())
    sys.exit(0)
