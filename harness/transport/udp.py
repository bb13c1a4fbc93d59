"""asyncio UDP over IPv6 for SDP: a socket bound to one link, multicast-capable, observable."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from harness.codec.v2g.sdp import SDP_MULTICAST_ADDRESS
from harness.transport.link import Link
from harness.transport.timestamps import ANCILLARY_SPACE, enable_timestamps, receive_time


class TrafficObserver(Protocol):
    """Told of the traffic a harness transport sends and receives (the in-process tap capture).

    Received datagrams carry the kernel's receive timestamp (SO_TIMESTAMPNS), sent ones the time just
    before the send call, so the tap records times close to the wire's."""

    def datagram(
        self, direction: str, src: tuple[str, int], dst: tuple[str, int], payload: bytes, t: float
    ) -> None:
        """A datagram sent ("tx") or received ("rx") at wall-clock time ``t``."""

    def connection(self, src: tuple[str, int], dst: tuple[str, int], t: float) -> None:
        """A TCP connection from ``src`` accepted or opened at ``t``."""

    def frame(self, direction: str, frame: bytes, t: float) -> None:
        """A raw Ethernet frame sent or received (harness.transport.raw_ethernet)."""


DatagramObserver = TrafficObserver  # the name the SDP testers use
_MAX_DATAGRAM = 65535


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    address: str
    port: int
    t: float  # kernel receive time (epoch seconds)


class UdpEndpoint:
    """A non-blocking IPv6 UDP socket on the event loop; received datagrams queue up with their
    kernel timestamps, or go straight to a sink (:meth:`deliver`) as they arrive."""

    def __init__(self, sock: socket.socket, link: Link, observer: DatagramObserver | None = None) -> None:
        self.sock = sock
        self.link = link
        self.observer = observer
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue()
        self.local_port = sock.getsockname()[1]
        self._sink: Callable[[Datagram], None] | None = None
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        while True:
            try:
                data, ancillary, _flags, addr = self.sock.recvmsg(_MAX_DATAGRAM, ANCILLARY_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. ICMP port unreachable reported on the socket: nothing to read
            t = receive_time(ancillary)
            address = addr[0].split("%")[0]
            if self.observer:
                self.observer.datagram(
                    "rx", (address, addr[1]), (self.link.address, self.local_port), data, t
                )
            datagram = Datagram(data, address, addr[1], t)
            if self._sink is not None:
                self._sink(datagram)
            else:
                self.queue.put_nowait(datagram)

    def deliver(self, sink: Callable[[Datagram], None] | None) -> None:
        """Hand every datagram to ``sink`` as it arrives (first those queued so far) instead of
        queueing it; ``None`` queues again. A sink may detach itself: what follows then queues."""
        self._sink = sink
        while sink is not None and self._sink is sink and not self.queue.empty():
            sink(self.queue.get_nowait())

    @property
    def sink(self) -> Callable[[Datagram], None] | None:
        return self._sink

    def send(self, data: bytes, address: str, port: int) -> None:
        t = time.time()
        try:
            self.sock.sendto(data, self.link.sockaddr(address, port))
        except BlockingIOError:
            return  # a full send buffer drops the datagram, as the network would
        if self.observer:
            self.observer.datagram("tx", (self.link.address, self.local_port), (address, port), data, t)

    async def receive(self, timeout: float | None) -> Datagram | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()


async def open_udp(
    link: Link, port: int = 0, *, listen_multicast: bool = False, observer: DatagramObserver | None = None
) -> UdpEndpoint:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if link.mode == "loopback":
            sock.bind((link.address, port))
        else:
            if os.geteuid() == 0:
                # Keep the tester's port 15118 on its own link, apart from anything else on the host.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, link.interface.encode())
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, link.scope_id)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            sock.bind(("::", port))
            if listen_multicast:
                group = socket.inet_pton(socket.AF_INET6, SDP_MULTICAST_ADDRESS) + struct.pack(
                    "@I", link.scope_id
                )
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
                except OSError:
                    pass  # all-nodes is joined by the kernel on every IPv6 interface anyway
        enable_timestamps(sock)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return UdpEndpoint(sock, link, observer)
