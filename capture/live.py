"""Live capture backends: dumpcap (Wireshark's capture engine), scapy sniffing, and the in-process
tap.  Every backend writes one pcapng file per scenario; the report names the backend used.

Preference (``auto``): dumpcap when installed and permitted, then scapy (needs raw sockets), then
the tap, which records only what the harness's own transports send and receive, time-stamped by the
harness rather than the kernel.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Protocol

from capture.tap import TapWriter

# How long dumpcap may take to open the interface before we give up on it.
DUMPCAP_START_TIMEOUT_S = 10.0
DUMPCAP_STOP_TIMEOUT_S = 10.0
BACKENDS = ("dumpcap", "scapy", "tap")


class CaptureError(RuntimeError):
    pass


class LiveCapture(Protocol):
    backend: str
    path: Path

    def stop(self) -> None: ...


class DumpcapCapture:
    backend = "dumpcap"

    def __init__(self, interface: str, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            ["dumpcap", "-i", interface, "-w", str(path), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C of the run must not kill it before it flushes
        )
        ready = threading.Event()
        self._stderr: list[str] = []

        def read_stderr() -> None:
            assert self._proc.stderr is not None
            for line in self._proc.stderr:
                self._stderr.append(line.rstrip())
                if line.startswith("File:"):
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read_stderr, daemon=True)
        self._reader.start()
        if not ready.wait(DUMPCAP_START_TIMEOUT_S) or self._proc.poll() is not None:
            self._kill()
            raise CaptureError(
                f"dumpcap could not capture on {interface}: {' '.join(self._stderr) or 'timeout'}"
            )

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # dumpcap finishes the pcapng on SIGINT
            try:
                self._proc.wait(DUMPCAP_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
        self._reader.join(1.0)


class ScapyCapture:
    backend = "scapy"

    def __init__(self, interface: str, path: Path) -> None:
        from scapy.sendrecv import AsyncSniffer

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._started = threading.Event()
        self._sniffer = AsyncSniffer(iface=interface, store=True, started_callback=self._started.set)
        self._sniffer.start()
        if not self._started.wait(DUMPCAP_START_TIMEOUT_S):
            raise CaptureError(f"scapy could not sniff on {interface}")

    def stop(self) -> None:
        from scapy.utils import PcapNgWriter

        packets = self._sniffer.stop() or []
        with PcapNgWriter(str(self.path)) as writer:
            for packet in packets:
                writer.write(packet)


class TapCapture:
    """Not a sniffer: the harness's transports report what they send and receive."""

    backend = "tap"

    def __init__(self, interface: str, path: Path) -> None:
        self.path = path
        self.writer = TapWriter(path)

    def stop(self) -> None:
        self.writer.close()


def dumpcap_usable() -> bool:
    return shutil.which("dumpcap") is not None


def start_capture(backend: str, interface: str, path: Path) -> tuple[LiveCapture, str | None]:
    """Start the requested backend (or the best one for ``auto``); returns the capture and a note
    saying why a weaker backend was used, if one was."""
    notes: list[str] = []
    order = BACKENDS if backend == "auto" else (backend,)
    for name in order:
        try:
            if name == "dumpcap":
                if not dumpcap_usable():
                    raise CaptureError("dumpcap is not installed (apt-get install tshark)")
                return DumpcapCapture(interface, path), _note(notes)
            if name == "scapy":
                if os.geteuid() != 0:
                    raise CaptureError("scapy sniffing needs root")
                return ScapyCapture(interface, path), _note(notes)
            return TapCapture(interface, path), _note(notes)
        except CaptureError as exc:
            if backend != "auto":
                raise
            notes.append(f"{name}: {exc}")
    raise CaptureError("no capture backend available")  # unreachable: the tap always works


def _note(notes: list[str]) -> str | None:
    return "; ".join(notes) if notes else None
