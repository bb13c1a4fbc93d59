"""Live capture backends: dumpcap (Wireshark's capture engine), scapy sniffing, and the in-process
tap.  Every backend writes one pcapng file per scenario; the report names the backend used.

Preference (``auto``): dumpcap when installed and permitted, then scapy (needs raw sockets), then
the tap, which records only what the harness's own transports send and receive, time-stamped by the
harness rather than the kernel.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from capture.packet_socket import PacketSocketReader
from capture.tap import TapWriter

# How long dumpcap may take to open the interface before we give up on it.
DUMPCAP_START_TIMEOUT_S = 10.0
DUMPCAP_STOP_TIMEOUT_S = 10.0
# libpcap hands dumpcap packets in blocks and dumpcap writes them out periodically (we measured about
# 0.5-0.75 s here); stopping it at once loses the last packets.  So before stopping, the harness sends a
# marker datagram on the captured link and waits until dumpcap has written it: everything sent before
# the marker is then in the file.  The marker goes to UDP port 9 (discard), which no V2G peer serves.
SYNC_MARKER_PORT = 9
SYNC_MARKER_PREFIX = b"VGI-CAPTURE-SYNC "
SYNC_TIMEOUT_S = 5.0
SYNC_POLL_S = 0.005


def send_sync_marker(target: tuple[str, int, int, int]) -> bytes:
    """Send a marker datagram to ``target`` (an IPv6 sockaddr on the captured link); returns it."""
    marker = SYNC_MARKER_PREFIX + secrets.token_hex(8).encode()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        if target[3]:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, target[3])
        sock.sendto(marker, target)
    return marker


def wait_for_bytes(path: Path, needle: bytes, timeout: float) -> bool:
    """Poll a growing file until ``needle`` appears in it (reading only what is new)."""
    deadline = time.monotonic() + timeout
    read_to = 0
    while time.monotonic() < deadline:
        start = max(0, read_to - len(needle) + 1)  # overlap, in case the needle straddles two reads
        try:
            with path.open("rb") as f:
                f.seek(start)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if needle in chunk:
            return True
        read_to = start + len(chunk)
        time.sleep(SYNC_POLL_S)
    return False


BACKENDS = ("packet", "dumpcap", "scapy", "tap")


class CaptureError(RuntimeError):
    pass


class LiveCapture(Protocol):
    backend: str
    path: Path

    def stop(self) -> None: ...


class _MarkerSynced:
    """A sniffer that lags behind the wire: before it stops, a marker datagram is sent and the
    capture is stopped only once the sniffer has recorded it."""

    backend = "?"

    def __init__(self, path: Path, sync_target: tuple[str, int, int, int] | None) -> None:
        self.path = path
        self.sync_target = sync_target
        self.note: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)

    def _sync(self, recorded: Callable[[bytes, float], bool]) -> None:
        if self.sync_target is None:
            return
        marker = send_sync_marker(self.sync_target)
        if not recorded(marker, SYNC_TIMEOUT_S):
            self.note = (
                f"{self.backend} did not record the sync marker within {SYNC_TIMEOUT_S:g} s: "
                "the capture may lack its last frames"
            )


class PacketSocketCapture(_MarkerSynced):
    """A packet socket's capture (:mod:`capture.packet_socket`): frames are in the file as they pass, so
    the marker is seen within milliseconds of being sent."""

    backend = "packet"

    def __init__(
        self, interface: str, path: Path, sync_target: tuple[str, int, int, int] | None = None
    ) -> None:
        super().__init__(path, sync_target)
        self._marker_seen = threading.Event()
        try:
            self._reader = PacketSocketReader(interface, path, self._on_frame)
        except OSError as exc:  # PacketSocketError, or no permission for a packet socket (not root)
            raise CaptureError(f"packet socket on {interface}: {exc}") from None

    def _on_frame(self, frame: bytes) -> None:
        if SYNC_MARKER_PREFIX in frame:
            self._marker_seen.set()

    def stop(self) -> None:
        self._sync(lambda marker, timeout: self._marker_seen.wait(timeout))
        self._reader.close()
        if self._reader.dropped:
            dropped = f"the kernel dropped {self._reader.dropped} frame(s) of this capture"
            self.note = f"{self.note}; {dropped}" if self.note else dropped


class DumpcapCapture(_MarkerSynced):
    backend = "dumpcap"

    def __init__(
        self, interface: str, path: Path, sync_target: tuple[str, int, int, int] | None = None
    ) -> None:
        super().__init__(path, sync_target)
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
            self._sync(lambda marker, timeout: wait_for_bytes(self.path, marker, timeout))
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # dumpcap finishes the pcapng on SIGINT
            try:
                self._proc.wait(DUMPCAP_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
        self._reader.join(1.0)


class ScapyCapture(_MarkerSynced):
    backend = "scapy"

    def __init__(
        self, interface: str, path: Path, sync_target: tuple[str, int, int, int] | None = None
    ) -> None:
        from scapy.sendrecv import AsyncSniffer

        super().__init__(path, sync_target)
        self._started = threading.Event()
        self._marker_seen = threading.Event()
        self._sniffer = AsyncSniffer(
            iface=interface, store=True, prn=self._on_packet, started_callback=self._started.set
        )
        self._sniffer.start()
        if not self._started.wait(DUMPCAP_START_TIMEOUT_S):
            raise CaptureError(f"scapy could not sniff on {interface}")

    def _on_packet(self, packet) -> None:  # noqa: ANN001 - a scapy packet
        if SYNC_MARKER_PREFIX in bytes(packet):
            self._marker_seen.set()

    def stop(self) -> None:
        from scapy.utils import PcapNgWriter

        # The sniffer thread may still be behind the socket: stop only once it has seen the marker.
        self._sync(lambda marker, timeout: self._marker_seen.wait(timeout))
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


def start_capture(
    backend: str, interface: str, path: Path, sync_target: tuple[str, int, int, int] | None = None
) -> tuple[LiveCapture, str | None]:
    """Start the requested backend (or the best one for ``auto``); returns the capture and a note
    saying why a weaker backend was used, if one was."""
    notes: list[str] = []
    order = BACKENDS if backend == "auto" else (backend,)
    for name in order:
        try:
            if name == "packet":
                return PacketSocketCapture(interface, path, sync_target), _note(notes)
            if name == "dumpcap":
                if not dumpcap_usable():
                    raise CaptureError("dumpcap is not installed (apt-get install tshark)")
                return DumpcapCapture(interface, path, sync_target), _note(notes)
            if name == "scapy":
                if os.geteuid() != 0:
                    raise CaptureError("scapy sniffing needs root")
                if interface == "lo":
                    # scapy sees each loopback frame twice (outgoing and incoming) and cannot tell
                    # which is which; libpcap (dumpcap) drops the outgoing copy, scapy does not.
                    raise CaptureError("scapy cannot capture loopback without duplicating frames")
                return ScapyCapture(interface, path, sync_target), _note(notes)
            return TapCapture(interface, path), _note(notes)
        except CaptureError as exc:
            if backend != "auto":
                raise
            notes.append(f"{name}: {exc}")
    raise CaptureError("no capture backend available")  # unreachable: the tap always works


def _note(notes: list[str]) -> str | None:
    return "; ".join(notes) if notes else None
