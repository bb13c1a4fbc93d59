"""A private virtual environment with py20305's IEEE 2030.5 / CSIP DER client, the DER client under test.

The harness already uses py20305's schema *models* as its 2030.5 codec; the same distribution also
ships a complete DER client (``py20305 --config client.yaml``, extra ``[cli]``) nobody here wrote.  It
runs from a venv of its own, like the other external DUTs, so that what is tested is the pinned release
from PyPI with its own dependency set, not whatever the harness's environment happens to hold:
``py20305_client_python()`` builds it once under ``~/.cache/vgi/py20305-client-<version>/`` and returns
its interpreter (the builder is :mod:`harness.dut.private_venv`).  :mod:`harness.dut.py20305_client_dut`
runs the client from that interpreter.

The venv needs PyPI; a DUT runs in a network namespace without it, so build the venv first (the
interop test does): ``python -m harness.dut.py20305_client_env``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.dut.private_venv import PrivateVenv, PrivateVenvError, venv_python

CLIENT_DISTRIBUTION = "py20305"
CLIENT_VERSION = "0.16.1"
# The client's command-line runner needs the [cli] extra (PyYAML for its configuration file).
CLIENT_REQUIREMENT = f"{CLIENT_DISTRIBUTION}[cli]=={CLIENT_VERSION}"
# What must import for the venv to count as healthy: the runner, its configuration model, DNS-SD
# discovery and the connector base class the launcher's inverter connector derives from.
IMPORT_CHECK = (
    "import yaml, py20305.cli, py20305.config, py20305.client.dnssd.discover, py20305.connectors.base"
)


class Py20305ClientEnvError(PrivateVenvError):
    """The client's environment could not be built or used; the message says what to install or fix."""


VENV = PrivateVenv(
    cache_name=f"{CLIENT_DISTRIBUTION}-client-{CLIENT_VERSION}",
    requirements=(CLIENT_REQUIREMENT,),
    import_check=IMPORT_CHECK,
    install_hint=(
        "needs PyPI; a DUT's network namespace has none: build it first with "
        "`python -m harness.dut.py20305_client_env`"
    ),
    error=Py20305ClientEnvError,
)
CACHE_DIR = VENV.default_cache_dir()


def py20305_client_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with the py20305 client; built on first use, rebuilt if its import check fails."""
    return venv_python(VENV, cache_dir)


if __name__ == "__main__":
    print(py20305_client_python())
    sys.exit(0)
