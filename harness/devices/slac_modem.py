"""A real HomePlug Green PHY modem (e.g. a QCA7000/7005 board) on a lab's Ethernet port, behind the
same interface as the emulated one (:class:`harness.devices.modem_emulator.EmulatedModem`), so the SLAC
testers run unchanged on a `plc` lab.

Every frame the host sends goes to the port: SLAC messages cross the mains, CM_SET_KEY.REQ (to the
local-modem address 00:b0:52:00:00:01) is taken by the modem itself, which answers CM_SET_KEY.CNF and
reports CM_ATTEN_PROFILE.IND for each sound it hears.

Link state: a Green PHY modem does not tell its host unasked when it joined an AVLN, and the MMEs that
report it are vendor specific.  This adapter therefore takes the link as up :data:`JOIN_ASSUMED_S`
after the modem confirmed the key (CM_SET_KEY.CNF) - an assumption, flagged in the report text of the
scenarios that depend on it - and as down when the host sets another key or :meth:`leave` is called.

:func:`check_modem` asks the modem for its firmware version with the Qualcomm Atheros vendor MME
VS_SW_VER (MMTYPE 0xA000, OUI 00:B0:52) - the quickest proof that the port reaches a powered modem.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Callable

from harness.codec import homeplug as hp
from harness.codec.homeplug import mme_type
from harness.transport.raw_ethernet import (
    EthernetFrame,
    RawEthernetEndpoint,
    ethernet_frame,
    interface_mac,
    open_raw_ethernet,
)

# [assumption] Time a Green PHY modem needs to join the AVLN after CM_SET_KEY; ISO 15118-3 allows the
# EV up to TT_match_join (12 s).  QCA7000 boards typically join within about a second.
JOIN_ASSUMED_S = 2.0
# Qualcomm Atheros vendor-specific MMEs (open-plc-utils): MMV 0x00, MMTYPE, then the OUI 00:B0:52.
QCA_OUI = bytes.fromhex("00b052")
VS_SW_VER_REQ = 0xA000
VS_SW_VER_CNF = 0xA001
VS_MMV = 0x00
CHECK_TIMEOUT_S = 1.0


class LocalModem:
    """The host side of a real modem on ``interface``; same callbacks as the emulated modem."""

    def __init__(self, interface: str, host_mac: str, *, evse: bool, observer: object | None = None) -> None:
        self.interface = interface
        self.host_mac = host_mac.lower()
        self.evse = evse
        self.modem_mac = hp.LOCAL_MODEM_MAC
        self.observer = observer
        self.on_frame: Callable[[EthernetFrame], None] = lambda frame: None
        self.on_link: Callable[[bool], None] = lambda up: None
        self.link_up = False
        self._endpoint: RawEthernetEndpoint | None = None
        self._pump: asyncio.Task[None] | None = None
        self._join: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        self._endpoint = await open_raw_ethernet(
            self.interface, hp.ETHERTYPE_HOMEPLUG_AV, observer=self.observer
        )
        self._pump = asyncio.ensure_future(self._receive())

    async def close(self) -> None:
        if self._join is not None:
            self._join.cancel()
        if self._pump is not None:
            self._pump.cancel()
            try:
                await self._pump
            except asyncio.CancelledError:
                pass
        if self._endpoint is not None:
            self._endpoint.close()

    def send(self, frame: bytes) -> None:
        assert self._endpoint is not None, "modem not open"
        if mme_type(frame) == hp.CM_SET_KEY | hp.MMTYPE_REQ:
            self._set_link(False)  # a new key leaves the old network
        self._endpoint.send(frame)

    def leave(self) -> None:
        """Make the modem leave its AVLN by giving it a fresh random key (no peer holds it)."""
        self.send(
            hp.encode_set_key_req(
                self.host_mac,
                secrets.token_bytes(hp.NID_LENGTH - 1) + b"\x00",
                secrets.token_bytes(hp.NMK_LENGTH),
                dst=hp.LOCAL_MODEM_MAC,
            )
        )

    def rejoin(self) -> None:
        """Not possible without the old key; the SLAC core sets a key again when it matches."""

    async def _receive(self) -> None:
        assert self._endpoint is not None
        loop = asyncio.get_running_loop()
        while True:
            frame = await self._endpoint.queue.get()
            self.on_frame(frame)
            if mme_type(frame.data) == hp.CM_SET_KEY | hp.MMTYPE_CNF:
                if self._join is not None:
                    self._join.cancel()
                self._join = loop.call_later(JOIN_ASSUMED_S, self._set_link, True)

    def _set_link(self, up: bool) -> None:
        if up != self.link_up:
            self.link_up = up
            self.on_link(up)


def vs_sw_ver_req(host_mac: str) -> bytes:
    return ethernet_frame(
        hp.LOCAL_MODEM_MAC,
        host_mac,
        hp.ETHERTYPE_HOMEPLUG_AV,
        bytes([VS_MMV]) + VS_SW_VER_REQ.to_bytes(2, "little") + QCA_OUI,
    )


async def check_modem(interface: str, timeout: float = CHECK_TIMEOUT_S) -> tuple[str, str] | None:
    """(modem MAC, printable part of the VS_SW_VER.CNF) if a modem answered on ``interface``."""
    endpoint = await open_raw_ethernet(interface, hp.ETHERTYPE_HOMEPLUG_AV)
    try:
        endpoint.send(vs_sw_ver_req(interface_mac(interface)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            frame = await endpoint.receive(remaining)
            if frame is None:
                return None
            if mme_type(frame.data) == VS_SW_VER_CNF:
                text = "".join(chr(b) if 32 <= b < 127 else " " for b in frame.data[14:]).split()
                return frame.src, " ".join(text)
        return None
    finally:
        endpoint.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check that a HomePlug Green PHY modem answers on a port")
    parser.add_argument("interface", help="the Ethernet interface the modem is plugged into")
    args = parser.parse_args(argv)
    answer = asyncio.run(check_modem(args.interface))
    if answer is None:
        print(f"no modem answered VS_SW_VER.REQ on {args.interface} within {CHECK_TIMEOUT_S:g} s")
        return 1
    print(f"modem {answer[0]} answered: {answer[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
