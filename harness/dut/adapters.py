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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.transport.netns import owner_record

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
    # more placeholders for a role ({pki_dir}, {dut_cert}, {tester_host}, {dcap_url}, ...), given the
    # role and the argv (so that only the placeholders the command uses are computed); set by the bench
    placeholders: Callable[[str, tuple[str, ...]], Mapping[str, str]] | None = None
    # "emulated": an emulated Green PHY modem (`vgi sim modem`) runs on the DUT's interface first
    modem: str = "none"


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
        append: bool = False,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_path = log_path
        log = log_path.open("a" if append else "w", encoding="utf-8")
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
        # Reap hook: written down so that a later run reaps it if this one is killed before stop().
        owner_record().add_process(self._proc.pid, argv)
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
        owner_record().remove_process(self._proc.pid)
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
        self._modem: _ProcessRunner | None = None

    def _start_modem(self, role: str, log_path: Path) -> None:
        """`access.modem: emulated`: the DUT's own emulated modem on its interface, before the DUT (both
        write to the DUT log, which the modem process starts afresh)."""
        side = "ev" if role in ("ev", "evcc") else "evse"
        argv = [sys.executable, "-m", "harness.cli", "sim", "modem", "--role", side]
        argv += ["--interface", self.process.interface]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("", encoding="utf-8")
        self._modem = _ProcessRunner()
        try:
            self._modem._spawn(argv, log_path, re.compile(r"^READY modem"), SIM_READY_TIMEOUT_S, append=True)
        except DutStartError as exc:
            self._modem = None
            raise DutStartError(f"emulated modem: {exc}") from None

    def stop(self) -> str | None:
        logged = super().stop()
        if self._modem is not None:
            logged = self._modem.stop() or logged
            self._modem = None
        return logged

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:
        process = self.process
        values = {
            "interface": process.interface,
            "lab_dir": str(process.lab_dir),
            "role": role,
            "python": sys.executable,  # the harness's interpreter, for launchers shipped with it
        }
        if process.placeholders is not None:
            values.update(process.placeholders(role, process.command))
        argv = [part.format(**values) for part in process.command]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        ready = re.compile(process.ready_pattern) if process.ready_pattern else None
        if process.modem == "emulated":
            self._start_modem(role, log_path)
        try:
            with_modem = self._modem is not None
            self._spawn(argv, log_path, ready, process.startup_s, dict(process.env), append=with_modem)
        except DutStartError:
            self.stop()
            raise


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


# --- manual access: an operator does what the prompt says and acknowledges it ----------------------

# `vgi run --ack-file PATH` sets this; a scripted rig acknowledges by writing the file (see ManualDut).
ACK_FILE_ENV = "VGI_ACK_FILE"
PROMPT_SUFFIX = ".prompt"
# How often the acknowledgement file is looked for while the operator works.
ACK_POLL_S = 0.1

# What the operator does for a role when the lab gives no wording of its own (ManualAccess.instructions).
_GENERIC_ACTIONS = {
    "evcc": "connect the vehicle's charging cable to the test socket whose PLC/Ethernet reaches {interface} "
    "and start a charging session on the vehicle",
    "ev": "plug the vehicle's charging connector into the test socket (control pilot and PLC coupled to "
    "{interface}); the vehicle must present state B",
    "secc": "power the charger on and make sure its V2G stack is up on the network of {interface} "
    "(SDP server listening)",
    "evse": "power the charging station on with its control pilot and PLC coupled to {interface}, "
    "no vehicle connected",
}
# What the harness then waits for, by the service a step asks for, else by role.
_AWAITED = {
    "sep2": "the client's DNS-SD query for _smartenergy._tcp on {interface} and its TLS connection to the "
    "tester's IEEE 2030.5 server",
    "slac": "the DUT's SLAC messages (CM_SLAC_PARM) on the PLC link behind {interface}",
    "evcc": "an SDP request (UDP port 15118) from the EVCC on {interface}, then its V2G TCP connection "
    "to the tester's SECC",
    "secc": "the SECC's answer to the SDP requests the tester sends on {interface}, then its V2G session "
    "with the tester's EV",
    "ev": "the vehicle's state B on the pilot, then its CM_SLAC_PARM.REQ on the PLC link",
    "evse": "the station's answers once the tester's EV starts (pilot state B, then SLAC)",
}
_DEFAULT_ACTION = "start the {role} under test and connect it to {interface}"
_DEFAULT_AWAITED = "the DUT's first frames on {interface}"


@dataclass(frozen=True)
class OperatorSettings:
    """The lab's ``access: manual`` values (read by the bench)."""

    interface: str
    ack_timeout_s: float = 300.0
    instructions: Mapping[str, str] = field(default_factory=dict)  # role -> the lab's own wording


def operator_prompt(
    settings: OperatorSettings, role: str, service: str | None = None, ack_file: Path | None = None
) -> str:
    """The prompt for ``role``: what to do, what the harness waits for, how to acknowledge (naming the
    acknowledgement file when the run has one)."""
    values = {"interface": settings.interface, "role": role.upper()}
    action = settings.instructions.get(role) or _GENERIC_ACTIONS.get(role, _DEFAULT_ACTION)
    awaited = _AWAITED.get(service or "") or _AWAITED.get(role, _DEFAULT_AWAITED)
    where = str(ack_file) if ack_file is not None else f"the acknowledgement file (${ACK_FILE_ENV})"
    return (
        f"Operator, {role.upper()} under test: {action.format(**values)}.\n"
        f"The harness then waits for {awaited.format(**values)}.\n"
        f"Acknowledge when done (within {settings.ack_timeout_s:g} s): press ENTER here, or write 'ok' "
        f"to {where}; 'abort REASON' ends the scenario INCONCLUSIVE."
    )


def wait_for_ack(ack_file: Path | None, timeout_s: float, stdin: object | None = None) -> str | None:
    """The operator's answer (``ok`` or ``abort ...``), or None when none came within ``timeout_s``.

    The acknowledgement file is consumed (removed) when read; a terminal on ``stdin`` is read too."""
    import select

    deadline = time.monotonic() + timeout_s
    try:
        tty = stdin if stdin is not None and stdin.isatty() else None  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        tty = None  # no terminal (CI, a captured stdin): only the acknowledgement file counts
    while True:
        if ack_file is not None and ack_file.exists():
            try:
                answer = ack_file.read_text(encoding="utf-8").strip()
            except OSError:
                answer = ""
            ack_file.unlink(missing_ok=True)
            return answer or "ok"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        wait = min(ACK_POLL_S, remaining)
        if tty is not None:
            readable, _, _ = select.select([tty], [], [], wait)
            if readable:
                return tty.readline().strip() or "ok"  # type: ignore[attr-defined]
        else:
            threading.Event().wait(wait)


class ManualDut(DutAdapter):
    """``access: manual``: each scenario prompts the operator (stderr, the DUT log, and the prompt file
    ``<ack file>.prompt`` for scripted rigs), then waits for the acknowledgement; none in time, or an
    ``abort``, makes the scenario INCONCLUSIVE with the prompt as the reason."""

    kind = "manual"

    def __init__(self, settings: OperatorSettings, ack_file: Path | None = None) -> None:
        self.settings = settings
        self.ack_file = ack_file
        self._log_path: Path | None = None

    @property
    def operator_prompt_needed(self) -> bool:
        return True

    def _ack_path(self) -> Path | None:
        if self.ack_file is not None:
            return self.ack_file
        value = os.environ.get(ACK_FILE_ENV)
        return Path(value) if value else None

    def start(self, role: str, log_path: Path, service: str | None = None) -> None:
        ack = self._ack_path()
        prompt = operator_prompt(self.settings, role, service, ack)
        if ack is not None:
            ack.unlink(missing_ok=True)  # an old acknowledgement must not answer this prompt
            ack.with_name(ack.name + PROMPT_SUFFIX).write_text(prompt + "\n", encoding="utf-8")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_path = log_path
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"prompt: {prompt}\n")
        print(f"\n>>> {prompt.replace(chr(10), chr(10) + '>>> ')}", file=sys.stderr, flush=True)
        try:
            answer = wait_for_ack(ack, self.settings.ack_timeout_s, sys.stdin)
        finally:
            if ack is not None:
                ack.with_name(ack.name + PROMPT_SUFFIX).unlink(missing_ok=True)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"answer: {answer!r}\n")
        first = prompt.splitlines()[0]
        if answer is None:
            raise DutStartError(
                f"no operator acknowledgement within {self.settings.ack_timeout_s:g} s "
                f"(access.ack_timeout_s) for: {first}"
            )
        if answer.lower().startswith("abort"):
            reason = answer[5:].strip(" :") or "no reason given"
            raise DutStartError(f"the operator aborted ({reason}) at: {first}")

    def stop(self) -> str | None:
        return str(self._log_path) if self._log_path else None
