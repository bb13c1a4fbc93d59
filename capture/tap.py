"""The in-process tap: the harness's transports report each datagram they send or receive, and
the tap writes it to pcapng as an IPv6/UDP frame with the harness's own timestamp.

Used only when no sniffer is permitted (no root, no dumpcap capabilities).  It sees only the
tester's side of the exchange, which the report states.
"""

from __future__ import annotations

import threading
from pathlib import Path


class TapWriter:
    def __init__(self, path: Path) -> None:
        from scapy.utils import PcapNgWriter

        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = PcapNgWriter(str(path))
        self._lock = threading.Lock()
        self._closed = False

    def datagram(
        self, direction: str, src: tuple[str, int], dst: tuple[str, int], payload: bytes, t: float
    ) -> None:
        """See harness.transport.udp.TrafficObserver."""
        from scapy.layers.inet import UDP
        from scapy.packet import Raw

        self._write(UDP(sport=src[1], dport=dst[1]) / Raw(payload), src[0], dst[0], t)

    def connection(self, src: tuple[str, int], dst: tuple[str, int], t: float) -> None:
        """A connection the harness accepted or opened, written as the SYN that began it."""
        from scapy.layers.inet import TCP

        self._write(TCP(sport=src[1], dport=dst[1], flags="S"), src[0], dst[0], t)

    def frame(self, direction: str, frame: bytes, t: float) -> None:
        """A raw Ethernet frame (SLAC, pilot records) sent or received by the harness."""
        from scapy.layers.l2 import Ether

        packet = Ether(frame)
        packet.time = t
        with self._lock:
            if not self._closed:
                self._writer.write(packet)
                self._writer.flush()

    def _write(self, transport, src: str, dst: str, t: float) -> None:  # noqa: ANN001 - a scapy layer
        from scapy.layers.inet6 import IPv6
        from scapy.layers.l2 import Ether

        packet = Ether() / IPv6(src=src, dst=dst) / transport
        packet.time = t
        with self._lock:
            if not self._closed:
                self._writer.write(packet)
                self._writer.flush()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._writer.close()
