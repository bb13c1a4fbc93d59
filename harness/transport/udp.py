"""asyncio UDP over IPv6 for SDP: a socket bound to one link, multicast-capable, observable."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from harness.codec.v2g.sdp import SDP_MULTICAST_ADDRESS
from harness.transport.link import Link

# Called for every datagram sent or received: (direction "tx"/"rx", src, dst, payload, monotonic t).
DatagramObserver = Callable[[str, tuple[str, int], tuple[str, int], bytes], None]


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    address: str
    port: int
    t: float  # loop time when received


class UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self, link: Link, observer: DatagramObserver | None = None) -> None:
        self.link = link
        self.observer = observer
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.local_port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        address = addr[0].split("%")[0]
        if self.observer:
            self.observer("rx", (address, addr[1]), (self.link.address, self.local_port), data)
        self.queue.put_nowait(Datagram(data, address, addr[1], asyncio.get_running_loop().time()))

    def send(self, data: bytes, address: str, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.link.sockaddr(address, port))
        if self.observer:
            self.observer("tx", (self.link.address, self.local_port), (address, port), data)

    async def receive(self, timeout: float | None) -> Datagram | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


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
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    endpoint = UdpEndpoint(link, observer)
    await asyncio.get_running_loop().create_datagram_endpoint(lambda: endpoint, sock=sock)
    return endpoint
