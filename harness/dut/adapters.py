"""How the harness reaches and controls the device under test, one adapter per access kind.

``start(role)`` makes the DUT present on the link (for an EV: "plugged in"); ``stop()`` ends what
``start`` began and returns what the DUT printed, kept with the run's artifacts.  The adapters take
plain values; the bench (the edge) reads them from the lab config.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# A reference device that has not said READY by then is broken, not slow.
SIM_READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 3.0


@dataclass(frozen=True)
class ProcessCommand:
    """How to start an external DUT process (the lab config's ``access: process``, read by the bench)."""

    # argv with the placeholders {interface}, {lab_dir}, {role} and {python}
    command: tuple[str, ...]
    interface: str  # the DUT-side veth interface
    lab_dir: Path  # the lab file's folder, for {lab_dir}
    ready_pattern: str | None = None  # printed once ready; without it the runner waits startup_s
    startup_s: float = 10.0
    env: Mapping[str, str] = field(default_factory=dict)


class DutStartError(RuntimeError):
    """The DUT could not be started or did not become ready: the scenario is INCONCLUSIVE."""


class DutAdapter:
    kind = "none"

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:  # noqa: B027
        """Default: nothing to start.  ``service`` picks one of a sim role's devices."""

    def stop(self) -> str | None:
        return None

    @property
    def operator_prompt_needed(self) -> bool:
        return False


class _ProcessRunner(DutAdapter):
    """Runs a command (optionally in a network namespace), logs its output, waits until ready."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._log_path: Path | None = None
        self._reader: threading.Thread | None = None

    def _spawn(
        self,
        argv: list[str],
        log_path: Path,
        ready: re.Pattern[str] | None,
        timeout: float,
        env: dict[str, str] | None = None,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_path = log_path
        log = log_path.open("w", encoding="utf-8")
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        try:
            self._proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        except OSError as exc:
            log.close()
            raise DutStartError(f"cannot start DUT `{argv[0]}`: {exc.strerror}") from None
        became_ready = threading.Event()

        def pump() -> None:
            assert self._proc and self._proc.stdout
            with log:
                for line in self._proc.stdout:
                    log.write(line)
                    log.flush()
                    if ready is not None and ready.search(line):
                        became_ready.set()
            became_ready.set()

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        if ready is None:
            # The DUT gives no readiness signal: the lab states how long it needs (PIXIT startup_s).
            time.sleep(timeout)
        elif not became_ready.wait(timeout):
            self.stop()
            raise DutStartError(
                f"DUT not ready after {timeout:g} s (no line matching {ready.pattern!r}); see {log_path}"
            )
        if self._proc.poll() is not None:
            self._reader.join(1.0)
            raise DutStartError(
                f"DUT exited with status {self._proc.returncode} during start-up; see {log_path}"
            )

    def stop(self) -> str | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            # The process group, so that a netns wrapper's child goes too.
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(STOP_GRACE_S)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._proc.wait()
        if self._reader:
            self._reader.join(2.0)
        self._proc = None
        return str(self._log_path) if self._log_path else None


class SimDut(_ProcessRunner):
    """A reference device as the DUT: `vgi sim ROLE` in the DUT's namespace (or on loopback)."""

    kind = "sim"

    def __init__(self, lab_path: Path, interface: str, netns: str | None) -> None:
        super().__init__()
        self.lab_path = lab_path  # handed to `vgi sim --lab`, which translates it into device settings
        self.interface = interface
        self.netns = netns

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:
        argv = [
            sys.executable,
            "-m",
            "harness.cli",
            "sim",
            role,
            "--lab",
            str(self.lab_path),
            "--interface",
            self.interface,
        ]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        if service is not None:
            argv += ["--service", service]
        self._spawn(argv, log_path, re.compile(r"^READY "), SIM_READY_TIMEOUT_S)


class ProcessDut(_ProcessRunner):
    """An external implementation the harness starts in the DUT's namespace."""

    kind = "process"

    def __init__(self, process: ProcessCommand, netns: str | None) -> None:
        super().__init__()
        self.process = process
        self.netns = netns

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:
        process = self.process
        values = {
            "interface": process.interface,
            "lab_dir": str(process.lab_dir),
            "role": role,
            "python": sys.executable,  # the harness's interpreter, for launchers shipped with it
        }
        argv = [part.format(**values) for part in process.command]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        ready = re.compile(process.ready_pattern) if process.ready_pattern else None
        self._spawn(argv, log_path, ready, process.startup_s, dict(process.env))


class ExternalDut(DutAdapter):
    """A DUT the harness does not start (tcp, plc, manual): an operator connects or plugs it in."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @property
    def operator_prompt_needed(self) -> bool:
        return True

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:
        if role in ("evcc", "ev"):
            print(
                f"\n>>> Operator: plug in the {role.upper()} under test now; the tester is listening.",
                file=sys.stderr,
                flush=True,
            )
