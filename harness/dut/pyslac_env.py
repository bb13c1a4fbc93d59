"""A private virtual environment with pyslac 0.8.3 (Switch EV's ISO 15118-3 SLAC stack, EVSE side), for
the SLAC interop test and as a DUT (:mod:`harness.dut.pyslac_dut`).

pyslac pins environs 9, which the harness does not use; it lives in its own venv under
``~/.cache/vgi/pyslac-0.8.3/``, built once from PyPI by :func:`pyslac_python` (through
:mod:`harness.dut.private_venv`: under a file lock, so two test processes asking at once build it once)
and rebuilt when its import check fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.dut.private_venv import PrivateVenv, PrivateVenvError, venv_python

PYSLAC_VERSION = "0.8.3"
# environs 9 (pyslac's pin) predates marshmallow 4, which dropped APIs environs 9 uses.
PYSLAC_EXTRA_PACKAGES = ("marshmallow<4",)
# What must import (and build) for the venv to count as healthy.
IMPORT_CHECK = (
    "import pyslac.session, pyslac.environment; "
    "c = pyslac.environment.Config(); c.load_envs(); "
    f"assert pyslac.__version__ == {PYSLAC_VERSION!r}, pyslac.__version__"
)


class PyslacEnvError(PrivateVenvError):
    """The pyslac environment could not be built; the message says what to install or fix."""


VENV = PrivateVenv(
    cache_name=f"pyslac-{PYSLAC_VERSION}",
    requirements=(f"pyslac=={PYSLAC_VERSION}", *PYSLAC_EXTRA_PACKAGES),
    import_check=IMPORT_CHECK,
    install_hint=(
        "needs PyPI; a DUT's network namespace has none: build it first with "
        "`python -m harness.dut.pyslac_env`"
    ),
    error=PyslacEnvError,
)
CACHE_DIR = VENV.default_cache_dir()


def pyslac_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with pyslac==0.8.3; built on first use, rebuilt if broken."""
    return venv_python(VENV, cache_dir)


if __name__ == "__main__":
    print(pyslac_python())
    sys.exit(0)
