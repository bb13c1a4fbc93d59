"""asyncio raw Ethernet (AF_PACKET) on a named interface: HomePlug AV management frames (ethertype
0x88E1, SLAC), and the harness's own local-experimental frames (simulated pilot, modem beacons).

One :class:`RawEthernetEndpoint` is bound to one interface and one ethertype.  Received frames queue up
with the kernel's receive timestamp; frames this host sent itself (the kernel loops them back to every
packet socket as PACKET_OUTGOING) are dropped, so a station never hears its own transmissions.  Like
:mod:`harness.transport.udp`, an optional observer (the in-process tap capture) is told of each frame
sent and received: it is called as ``observer.frame(direction, frame, t)`` when it has that method.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import struct
import time
from dataclasses import dataclass

from harness.codec.homeplug import ETHERTYPE_HOMEPLUG_AV, MIN_FRAME_LENGTH
from harness.transport.timestamps import ANCILLARY_SPACE, enable_timestamps, receive_time

# linux/if_packet.h: the packet type the kernel reports for frames this host transmitted.
PACKET_OUTGOING = 4
# linux/if_ether.h: every ethertype (used only by sniffers; endpoints bind one ethertype).
ETH_P_ALL = 0x0003
_MAX_FRAME = 65535
# IEEE 802 (IEEE Std 802) local experimental ethertypes, free for private protocols on a lab link.
ETHERTYPE_LOCAL_EXPERIMENTAL_1 = 0x88B5
ETHERTYPE_LOCAL_EXPERIMENTAL_2 = 0x88B6


@dataclass(frozen=True, slots=True)
class EthernetFrame:
    data: bytes
    t: float  # kernel receive time (epoch seconds)

    @property
    def dst(self) -> str:
        return mac_text(self.data[0:6])

    @property
    def src(self) -> str:
        return mac_text(self.data[6:12])


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def mac_bytes(text: str) -> bytes:
    raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {text!r}")
    return raw


# linux/sockios.h: get an interface's hardware address.
SIOCGIFHWADDR = 0x8927


def interface_mac(interface: str) -> str:
    """The interface's own MAC address.  Asked of the kernel (SIOCGIFHWADDR) in the calling thread's
    network namespace: sysfs shows the namespace that mounted it, which a worker of a parallel run,
    in a namespace of its own (harness.workers), is not.  OSError when there is no such interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("256s", interface.encode("ascii")[:15])
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, request)
    return mac_text(reply[18:24])


def ethernet_frame(dst: str, src: str, ethertype: int, payload: bytes) -> bytes:
    """An Ethernet II frame, zero-padded to the 60-byte minimum (without FCS)."""
    frame = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload
    return frame.ljust(MIN_FRAME_LENGTH, b"\x00")


def raw_sockets_permitted() -> bool:
    """AF_PACKET needs CAP_NET_RAW; we only check for root, as the bench does for namespaces."""
    return os.geteuid() == 0


class RawEthernetEndpoint:
    """A non-blocking packet socket on the event loop, bound to ``interface`` and ``ethertype``."""

    def __init__(
        self,
        sock: socket.socket,
        interface: str,
        ethertype: int,
        observer: object | None = None,
    ) -> None:
        self.sock = sock
        self.interface = interface
        self.ethertype = ethertype
        self.observer = observer
        self.mac = interface_mac(interface)
        self.queue: asyncio.Queue[EthernetFrame] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def _observe(self, direction: str, frame: bytes, t: float) -> None:
        hook = getattr(self.observer, "frame", None)
        if hook is not None:
            hook(direction, frame, t)

    def _on_readable(self) -> None:
        while True:
            try:
                data, ancillary, _flags, addr = self.sock.recvmsg(_MAX_FRAME, ANCILLARY_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(addr) > 2 and addr[2] == PACKET_OUTGOING:
                continue
            t = receive_time(ancillary)
            self._observe("rx", data, t)
            self.queue.put_nowait(EthernetFrame(data, t))

    def send(self, frame: bytes) -> None:
        """Send one complete Ethernet frame (padded to 60 bytes if shorter)."""
        frame = frame.ljust(MIN_FRAME_LENGTH, b"\x00")
        t = time.time()
        try:
            self.sock.send(frame)
        except BlockingIOError:
            return  # a full send queue drops the frame, as a busy medium would
        self._observe("tx", frame, t)

    async def receive(self, timeout: float | None) -> EthernetFrame | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()


async def open_raw_ethernet(
    interface: str, ethertype: int = ETHERTYPE_HOMEPLUG_AV, *, observer: object | None = None
) -> RawEthernetEndpoint:
    """A packet socket for ``ethertype`` frames on ``interface`` (needs CAP_NET_RAW)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    try:
        sock.bind((interface, ethertype))
        enable_timestamps(sock)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return RawEthernetEndpoint(sock, interface, ethertype, observer)
