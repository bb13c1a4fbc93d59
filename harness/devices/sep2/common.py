"""What every IEEE 2030.5 reference device shares (and tester roles reuse): the lab PKI, TLS contexts,
the simulated clock and how a client finds its server.  The port and DeviceCapability path both sides
agree on are in :mod:`harness.protocol.sep2.endpoints`."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.devices.settings import DeviceSettings
from harness.pki.hierarchy import init_pki
from harness.pki.profile import ROLES as PKI_ROLES
from harness.pki.store import DeviceIdentity, load_identity
from harness.protocol.sep2.endpoints import DCAP_PATH, SEP2_PORT  # noqa: F401  (re-exported for steps)
from harness.transport.link import LOOPBACK_ADDRESS, Link
from harness.transport.tls import client_context, server_context

# Extra PKI role: a device with a valid certificate the servers have not registered (negative tests).
UNREGISTERED_ROLE = "unregistered"
LAB_PKI_ROLES = (*PKI_ROLES, UNREGISTERED_ROLE)
# PIXIT certificates key naming a lab's own PKI directory (made by `vgi pki init`).
PIXIT_PKI_KEY = "sep2_pki"
# Simulated lab: the day starts here (2026-01-01T00:00:00Z, a Thursday) and runs this much faster
# than the wall clock, so a 24-hour price/DR flow takes seconds (1 simulated hour per 2 s).
SIM_DAY_START = 1_767_225_600
SIM_SPEEDUP = 1800.0
# The simulated lab's poll rate in real seconds (IEEE 2030.5 clause 5.5.4 pollRate attribute).
SIM_POLL_RATE_S = 1
# How long a client looks for its server's address on the link (ICMPv6 echo to all nodes).
PEER_SEARCH_TIMEOUT_S = 5.0


def pki_directory(settings: DeviceSettings | None = None) -> Path:
    """The lab's PKI: PIXIT certificates ``sep2_pki`` when set (resolved against the lab file's folder
    by the edge), else a per-user cache made once."""
    if settings is not None and PIXIT_PKI_KEY in settings.certificates:
        return settings.certificates[PIXIT_PKI_KEY]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vgi" / "sep2-pki"


def ensure_pki(directory: Path) -> Path:
    """Create the test PKI in ``directory`` unless it exists; safe against concurrent creators."""
    if (directory / "pki.json").exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".pki-", dir=directory.parent))
    try:
        init_pki(scratch, LAB_PKI_ROLES)
        try:
            scratch.rename(directory)
        except OSError:
            pass  # another process won the race; its PKI is as good as ours
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


def identity(role: str, settings: DeviceSettings | None = None) -> DeviceIdentity:
    return load_identity(ensure_pki(pki_directory(settings)), role)


def server_tls(
    role: str, settings: DeviceSettings | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    return server_context(identity(role, settings), keylog_path=keylog)


def client_tls(
    role: str, settings: DeviceSettings | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    return client_context(identity(role, settings), keylog_path=keylog)


@dataclass
class SimClock:
    """The simulated lab's clock: UTC seconds from ``start``, ``speedup`` times the wall clock."""

    start: int = SIM_DAY_START
    speedup: float = SIM_SPEEDUP
    origin: float = 0.0

    def __post_init__(self) -> None:
        self.origin = self.origin or time.monotonic()

    def now(self) -> int:
        return self.start + int((time.monotonic() - self.origin) * self.speedup)


# RFC 4443 clause 4.1/4.2: ICMPv6 echo request and reply types.
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
# RFC 4291 clause 2.7.1: the link-local all-nodes group.
ALL_NODES = "ff02::1"
# Spacing of the echo requests while looking for the peer.
PEER_PROBE_INTERVAL_S = 0.2


async def find_peer(link: Link) -> str:
    """The address of the other end of the link: ::1 on loopback; on a veth or real port, the first
    other node answering an ICMPv6 echo to all nodes (the simulated lab's stand-in for DNS-SD)."""
    if link.mode == "loopback" or link.interface == "lo":
        return LOOPBACK_ADDRESS
    if link.peer_address:
        return link.peer_address
    scope = socket.if_nametoindex(link.interface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, scope)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + PEER_SEARCH_TIMEOUT_S
    identifier = os.getpid() & 0xFFFF
    try:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            # Type, code, checksum (the kernel fills it for raw ICMPv6 sockets), identifier, sequence.
            echo = struct.pack("!BBHHH", ICMPV6_ECHO_REQUEST, 0, 0, identifier, sequence) + b"vgi-sep2"
            await loop.sock_sendto(sock, echo, (ALL_NODES, 0, 0, scope))
            try:
                while True:
                    data, sender = await asyncio.wait_for(
                        loop.sock_recvfrom(sock, 1500), PEER_PROBE_INTERVAL_S
                    )
                    address = str(sender[0]).split("%", 1)[0]
                    if data[:1] == bytes([ICMPV6_ECHO_REPLY]) and address.lower() != link.address.lower():
                        return address
            except TimeoutError:
                continue
    finally:
        sock.close()
    raise RuntimeError(f"no IEEE 2030.5 server found on {link.interface}")


def listen_host(link: Link) -> str:
    return "::1" if link.mode == "loopback" or link.interface == "lo" else "::"
