"""pyslac 0.8.3 (Switch EV's ISO 15118-3 SLAC stack, EVSE side) as a DUT, started by the `process`
adapter behind an emulated modem (lab_configs/pyslac-evse.yaml, ``access.modem: emulated``):

    python -m harness.dut.pyslac_dut --interface vgi-dut0

runs in the DUT's network namespace.  pyslac talks to "its local QCA modem" through a packet socket on
the interface; the harness's emulated modem process (``vgi sim modem --role evse``, started first by the
adapter) shares that interface and plays the modem: it answers CM_SET_KEY.REQ, reports
CM_ATTEN_PROFILE.IND per M-Sound and joins the EV's modem once both hold pyslac's NMK.

How the EVSE learns that an EV is plugged in: pyslac does not read the control pilot.  A charging
station's own controller measures the pilot and tells pyslac, through
``SlacSessionController.process_cp_state(session, "B")``, that a vehicle is present (pyslac then starts
a matching task), and ``"A"`` when it is unplugged (the task is cancelled); putting 5 % on the pilot is
that controller's job too (pyslac's ``enable_hlc_charging`` hook exists, but pyslac 0.8.3 never calls it).
This launcher is that station controller, and nothing more: it reads the simulated pilot the tester
drives on the link (0x88B5 records, :mod:`harness.devices.pilot_sim`), forwards every vehicle state to
pyslac, and on the first B (or C/D) it offers 5 % - only after pyslac's matching task has started
listening, so the EV's first CM_SLAC_PARM.REQ finds it.  As the station's IP host it also answers UDP
echo (port 7), the probe the link scenarios send to see when IP crosses the PLC link (the reference
EVSE does the same; pyslac has no IP side).  pyslac itself runs unchanged, in its own venv
(:mod:`harness.dut.pyslac_env`), in a child process that takes one command per line on stdin
(``cp STATE``) and reports lines starting with :data:`EVENT_PREFIX`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile

from harness.devices.pilot_sim import SimulatedPilotDriver
from harness.devices.slac_evse import serve_udp_echo
from harness.dut.pyslac_env import pyslac_python
from harness.protocol.pilot import DIGITAL_COMMUNICATION_DUTY, PilotOutput, PilotState
from harness.transport.link import Link
from harness.transport.raw_ethernet import interface_mac, mac_bytes

EVENT_PREFIX = "@@pyslac"
DEFAULT_EVSE_ID = "DE*VGI*E0001"
# pyslac sets its key at start-up and then waits SLAC_SETTLE_TIME (10 s, pyslac.enums) before it is
# usable; the launcher allows that plus the venv's start.
PYSLAC_START_TIMEOUT_S = 60.0
# How long pyslac may take to start its matching task after a pilot state is handed to it.
CP_ACK_TIMEOUT_S = 2.0
PRESENT = (PilotState.B, PilotState.C, PilotState.D)

# Runs in pyslac's venv: one session on the interface, driven by "cp STATE" lines on stdin.
_BOOTSTRAP = r"""
import asyncio, sys
from pyslac.environment import Config
from pyslac.session import SlacEvseSession, SlacSessionController

iface, evse_id, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
STATES = {0: "unmatched", 1: "matching", 2: "matched"}

def say(*words):
    print(prefix, *words, flush=True)

class StationController(SlacSessionController):
    async def notify_matching_ongoing(self, evse_id):
        say("matching")

    async def notify_matching_failed(self, evse_id):
        say("failed")

async def main():
    config = Config()
    config.load_envs()
    controller = StationController()
    session = SlacEvseSession(evse_id, iface, config)
    await session.evse_set_key()
    say("ready", session.evse_mac.hex())

    async def report_state():
        last = None
        while True:
            if session.state != last:
                last = session.state
                say("state", STATES.get(last, last))
            await asyncio.sleep(0.05)

    watcher = asyncio.ensure_future(report_state())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.decode().split()
        if len(words) == 2 and words[0] == "cp":
            await controller.process_cp_state(session, words[1])
            for _ in range(3):
                await asyncio.sleep(0)  # let a new matching task reach its first receive
            say("cp", words[1])
    watcher.cancel()

asyncio.run(main())
"""


def eui64_link_local(mac: str) -> str:
    """The interface's IPv6 link-local address (RFC 4291 Appendix A, modified EUI-64).  The emulated
    modem has switched IPv6 off on the interface before this launcher starts, so it cannot be read."""
    raw = bytearray(mac_bytes(mac))
    raw[0] ^= 0x02
    iid = bytes(raw[:3]) + b"\xff\xfe" + bytes(raw[3:])
    return "fe80::" + ":".join(f"{int.from_bytes(iid[i : i + 2], 'big'):x}" for i in range(0, 8, 2))


class PyslacChild:
    """pyslac's process: its output goes to ours (the DUT log); its events come to :meth:`next_event`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: asyncio.Queue[list[str]] = asyncio.Queue()
        self._pump = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, interface: str, evse_id: str) -> PyslacChild:
        python = pyslac_python()
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        # pyslac reads a .env from its working directory: give it an empty one of its own.
        workdir = tempfile.mkdtemp(prefix="pyslac-evse-")
        proc = await asyncio.create_subprocess_exec(
            str(python),
            "-c",
            _BOOTSTRAP,
            interface,
            evse_id,
            EVENT_PREFIX,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        print(f"pyslac EVSE {evse_id} on {interface}, venv {python}, pid {proc.pid}", flush=True)
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            print(f"pyslac| {text}", flush=True)
            if text.startswith(EVENT_PREFIX + " "):
                self.events.put_nowait(text.split()[1:])
        self.events.put_nowait(["exited"])

    async def next_event(self, kind: str, timeout: float) -> list[str] | None:
        """The next event of ``kind`` (its words), None after ``timeout`` or when pyslac exited."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.events.get()
                    if event[:1] == ["exited"]:
                        self.events.put_nowait(event)
                        return None
                    if event[:1] == [kind]:
                        return event
        except TimeoutError:
            return None

    def tell_cp(self, state: PilotState) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"cp {state.value}\n".encode())

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 3.0)
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        self._pump.cancel()


async def run(interface: str, evse_id: str) -> int:
    pilot = SimulatedPilotDriver(interface, "evse")
    await pilot.open()
    await pilot.set_output(PilotOutput.X1)  # +12 V: no vehicle yet
    child = await PyslacChild.start(interface, evse_id)
    echo = asyncio.ensure_future(
        serve_udp_echo(Link("interface", interface, eui64_link_local(interface_mac(interface))))
    )
    try:
        if await child.next_event("ready", PYSLAC_START_TIMEOUT_S) is None:
            print(f"pyslac did not finish its start-up (CM_SET_KEY) within {PYSLAC_START_TIMEOUT_S:g} s")
            return 1
        print(f"READY pyslac-evse mac={interface_mac(interface)}", flush=True)
        offered = False
        last: PilotState | None = None
        async for _change in pilot.readings():
            if child.proc.returncode is not None:
                print(f"pyslac exited with status {child.proc.returncode}")
                return 1
            state = pilot.vehicle
            if state is last:
                continue
            last = state
            child.tell_cp(state)
            if await child.next_event("cp", CP_ACK_TIMEOUT_S) is None:
                print(f"pyslac did not take pilot state {state.value} within {CP_ACK_TIMEOUT_S:g} s")
            if state in PRESENT and not offered:
                offered = True
                await pilot.set_output(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY)
            elif state is PilotState.A and offered:
                offered = False
                await pilot.set_output(PilotOutput.X1)
        return 0
    finally:
        echo.cancel()
        await child.stop()
        await pilot.close()


async def _until_signalled(interface: str, evse_id: str) -> int:
    task = asyncio.ensure_future(run(interface, evse_id))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.dut.pyslac_dut", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--interface", required=True, help="the DUT-side interface (shared with the modem)")
    parser.add_argument("--evse-id", default=DEFAULT_EVSE_ID, help="the EVSE ID pyslac's session carries")
    args = parser.parse_args(argv)
    return asyncio.run(_until_signalled(args.interface, args.evse_id))


if __name__ == "__main__":
    sys.exit(main())
