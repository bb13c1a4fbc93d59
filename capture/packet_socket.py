"""A capture from a Linux packet socket: every frame on one interface as it passes, with the kernel's
timestamp, written to pcapng as it arrives.

Why beside dumpcap: dumpcap 4.0 reads through libpcap's TPACKET_V3 ring, which hands frames over when a
block fills or its 250 ms timeout expires, and it writes its file every 500 ms.  A scenario's capture can
only be stopped once a marker sent at its end is in the file: measured here, 0.54 to 0.61 s of every
scenario's end, about 15 % of an average scenario of the default campaign.  A packet socket
(``AF_PACKET``, ``ETH_P_ALL``) is handed each frame at once, so the marker is seen within milliseconds.

The evidence is the same as dumpcap's:

- link type Ethernet (Linux gives loopback frames a zeroed Ethernet header, as libpcap's DLT_EN10MB does);
- the kernel's nanosecond timestamp of each frame (``SO_TIMESTAMPNS``), taken at the same packet tap as
  libpcap's, for frames sent and received alike;
- on loopback, where every frame passes the tap twice, the outgoing copy is left out, as libpcap does;
- each Enhanced Packet Block says the frame's direction (``epb_flags``), and an Interface Statistics Block
  at the end gives the frames received and the kernel's drop count (``PACKET_STATISTICS``); a non-zero drop
  count becomes the capture's note, which the scenario's reason shows.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from capture.pcapng import BYTE_ORDER_MAGIC, EPB_TYPE, IDB_TYPE, IF_TSRESOL, OPT_ENDOFOPT, SHB_TYPE

# linux/if_ether.h: every protocol.
ETH_P_ALL = 0x0003
# linux/if_packet.h: the sll_pkttype of a frame this host sent; socket option PACKET_STATISTICS.
PACKET_OUTGOING = 4
PACKET_STATISTICS = 6
SOL_PACKET = 263
# asm-generic/socket.h: SO_TIMESTAMPNS (its control message has the same number); SO_RCVBUFFORCE, which
# Python does not name.
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
# net/if_arp.h: the link types whose frames carry an Ethernet header.
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ETHERNET_ARPHRD = frozenset({ARPHRD_ETHER, ARPHRD_LOOPBACK})
# pcapng: LINKTYPE_ETHERNET; Interface Statistics Block; if_name, epb_flags, isb_ifrecv, isb_ifdrop.
LINKTYPE_ETHERNET = 1
ISB_TYPE = 0x00000005
IF_NAME = 2
EPB_FLAGS = 2
ISB_IFRECV = 4
ISB_IFDROP = 5
# epb_flags bits 0-1: inbound 1, outbound 2.
INBOUND, OUTBOUND = 1, 2
# The largest frame kept whole (dumpcap's default snapshot length).
SNAPLEN = 262_144
# Kernel receive buffer asked for (as root, above rmem_max): V2G and 2030.5 traffic is small, bursts are
# not, e.g. a TLS handshake's certificates.
RECEIVE_BUFFER = 8 * 1024 * 1024
# Nanoseconds per second, and if_tsresol 9: timestamps count nanoseconds.
NS = 1_000_000_000
TSRESOL_NS = 9
_CMSG_SPACE = socket.CMSG_SPACE(struct.calcsize("qq"))


class PacketSocketError(OSError):
    pass


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _options(*options: bytes) -> bytes:
    return b"".join(options) + struct.pack("<HH", OPT_ENDOFOPT, 0)


def file_header(interface: str) -> bytes:
    """The Section Header Block and the one Interface Description Block of the capture."""
    shb = _block(SHB_TYPE, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1))
    options = _options(_option(IF_NAME, interface.encode()), _option(IF_TSRESOL, bytes([TSRESOL_NS])))
    idb = _block(IDB_TYPE, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN) + options)
    return shb + idb


def packet_block(t_ns: int, frame: bytes, outgoing: bool) -> bytes:
    """An Enhanced Packet Block of interface 0 with its direction."""
    kept = frame[:SNAPLEN]
    flags = _options(_option(EPB_FLAGS, struct.pack("<I", OUTBOUND if outgoing else INBOUND)))
    head = struct.pack("<IIIII", 0, t_ns >> 32, t_ns & 0xFFFFFFFF, len(kept), len(frame))
    return _block(EPB_TYPE, head + kept + b"\0" * (-len(kept) % 4) + flags)


def statistics_block(t_ns: int, received: int, dropped: int) -> bytes:
    options = _options(
        _option(ISB_IFRECV, struct.pack("<Q", received)), _option(ISB_IFDROP, struct.pack("<Q", dropped))
    )
    return _block(ISB_TYPE, struct.pack("<III", 0, t_ns >> 32, t_ns & 0xFFFFFFFF) + options)


def link_type(interface: str) -> int:
    """The interface's ARPHRD type, as a packet socket bound to it reports it (sysfs would show the
    namespace that mounted it, not the caller's: a worker of a parallel run has a network namespace of its
    own).  Needs root."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as probe:
        try:
            probe.bind((interface, 0))
        except OSError as exc:
            raise PacketSocketError(f"{interface}: no such interface ({exc.strerror})") from None
        return probe.getsockname()[3]


class PacketSocketReader:
    """Reads every frame of ``interface`` into ``path`` (pcapng) on a thread of its own until :meth:`close`.

    ``on_frame(frame)`` is called for each frame kept, on the reader's thread (a marker watch)."""

    def __init__(self, interface: str, path: Path, on_frame: Callable[[bytes], None] | None = None) -> None:
        arphrd = link_type(interface)
        if arphrd not in ETHERNET_ARPHRD:
            raise PacketSocketError(f"{interface}: link type {arphrd} has no Ethernet header")
        self.loopback = arphrd == ARPHRD_LOOPBACK
        self.received = 0
        self.dropped = 0
        self._on_frame = on_frame
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
            except OSError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self._sock.bind((interface, ETH_P_ALL))
            self._sock.setblocking(False)
            self._file = path.open("wb")
        except OSError:
            self._sock.close()
            raise
        # close() writes a byte here to wake the reader at once.
        self._wake_read, self._wake_write = os.pipe()
        self._file.write(file_header(interface))
        self._thread = threading.Thread(target=self._read, name=f"capture {interface}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self._sock, self._wake_read], [], [])
            self._drain()
            if self._wake_read in ready:
                return  # after taking what arrived before close() was called

    def _drain(self) -> None:
        while True:
            try:
                frame, ancillary, _flags, address = self._sock.recvmsg(SNAPLEN, _CMSG_SPACE)
            except OSError:  # BlockingIOError: nothing more for now
                return
            self._keep(frame, ancillary, address)

    def _keep(self, frame: bytes, ancillary: list, address: tuple) -> None:
        outgoing = address[2] == PACKET_OUTGOING
        if outgoing and self.loopback:
            return
        t_ns = next(
            (
                seconds * NS + nanoseconds
                for level, kind, data in ancillary
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS
                for seconds, nanoseconds in [struct.unpack("qq", data[:16])]
            ),
            time.time_ns(),
        )
        self.received += 1
        self._file.write(packet_block(t_ns, frame, outgoing))
        if self._on_frame is not None:
            self._on_frame(frame)

    def close(self) -> None:
        """Stop reading (after what the socket already holds), write the statistics, close the file."""
        os.write(self._wake_write, b"x")
        self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)
        try:
            stats = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            self.dropped = struct.unpack("II", stats)[1]
        except OSError:
            self.dropped = 0
        self._sock.close()
        self._file.write(statistics_block(time.time_ns(), self.received, self.dropped))
        self._file.close()
