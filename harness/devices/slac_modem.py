"""A real HomePlug Green PHY modem (e.g. a QCA7000/7005 board) on a lab's Ethernet port, behind the
same interface as the emulated one (:class:`harness.devices.modem_emulator.EmulatedModem`), so the SLAC
testers run unchanged on a `plc` lab.

Every frame the host sends goes to the port: SLAC messages cross the mains, CM_SET_KEY.REQ (to the
local-modem address 00:b0:52:00:00:01) is taken by the modem itself, which answers CM_SET_KEY.CNF and
reports CM_ATTEN_PROFILE.IND for each sound it hears.

Link state: a Green PHY modem does not tell its host unasked when it joined an AVLN, so this adapter
asks it.  Once the modem confirmed a key (CM_SET_KEY.CNF) it sends the Qualcomm Atheros vendor request
VS_NW_INFO.REQ (MMTYPE 0xA038) every :data:`LINK_POLL_INTERVAL_S` and takes the link as up when the
confirmation lists the AVLN of the key the host set with at least one other station in it - the test
open-plc-utils' ``int6kwait -a`` ("wait for assoc") makes.  It gives up after :data:`LINK_UP_TIMEOUT_S`
(ISO 15118-3 TT_match_join); while linked it keeps asking and reports the link down when the other
stations are gone (or the modem stops answering) :data:`LINK_LOSS_POLLS` times in a row, when the host
sets another key, or when :meth:`leave` is called.

VS_NW_INFO layouts, MMV 0 (open-plc-utils ``plc/NetInfo1.c``, ``plc/PhyRates1.c``): the request is the
Qualcomm header alone (MMV, MMTYPE little endian, OUI 00:B0:52); the confirmation continues with
NUMAVLNS (1 byte) and per AVLN: NID (7), SNID (1), TEI (1), ROLE (1), CCO_MAC (6), CCO_TEI (1),
NUMSTAS (1) and NUMSTAS stations of MAC (6), TEI (1), BDA (6), AVGTX (1), AVGRX (1).  [unverified]
Which MMV a QCA7000/7005 Green PHY firmware answers with (open-plc-utils also has an MMV 1 layout with
reserved bytes and 16-bit rates, ``int6kwait``'s): this module speaks MMV 0 and is checked only against
our emulated modem; :data:`VS_NW_INFO_MMV` is the one place to change.

:func:`check_modem` asks the modem for its firmware version with the Qualcomm Atheros vendor MME
VS_SW_VER (MMTYPE 0xA000, OUI 00:B0:52) - the quickest proof that the port reaches a powered modem.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass

from harness.codec import homeplug as hp
from harness.codec.homeplug import HomePlugDecodeError, decode_slac, mme_type
from harness.transport.raw_ethernet import (
    EthernetFrame,
    RawEthernetEndpoint,
    ethernet_frame,
    interface_mac,
    mac_bytes,
    mac_text,
    open_raw_ethernet,
)

log = logging.getLogger(__name__)

# How long the modem may take to form the AVLN after CM_SET_KEY.CNF: ISO 15118-3 TT_match_join (12 s)
# is what the EV allows for joining after the match.
LINK_UP_TIMEOUT_S = 12.0
# How often the modem is asked for its network information (open-plc-utils' int6kwait polls at its
# channel timeout; half a second keeps the modem's management path nearly idle).
LINK_POLL_INTERVAL_S = 0.5
# Consecutive answers without the peer (or unanswered requests) that make the link count as lost.
LINK_LOSS_POLLS = 3
# Qualcomm Atheros vendor-specific MMEs (open-plc-utils mme/mme.h): MMV, MMTYPE, then the OUI 00:B0:52.
QCA_OUI = bytes.fromhex("00b052")
VS_SW_VER_REQ = 0xA000
VS_SW_VER_CNF = 0xA001
VS_NW_INFO_REQ = 0xA038
VS_NW_INFO_CNF = 0xA039
# HomePlug AV 1.1 Table 11-2: MMTYPEs 0xA000-0xBFFF are vendor specific.
VENDOR_MMTYPE_MIN, VENDOR_MMTYPE_MAX = 0xA000, 0xBFFF
VS_MMV = 0x00
VS_NW_INFO_MMV = 0x00  # [unverified] see the module text
QCA_HEADER_LENGTH = 6  # MMV (1) + MMTYPE (2) + OUI (3)
# VS_NW_INFO ROLE (open-plc-utils NetInfo1.c prints 0 STA, 1 PCO, 2 CCO) [unverified].
NW_ROLE_STA, NW_ROLE_CCO = 0x00, 0x02
CHECK_TIMEOUT_S = 1.0
ZERO_MAC = "00:00:00:00:00:00"


def is_vendor_mme(mmtype: int) -> bool:
    return VENDOR_MMTYPE_MIN <= mmtype <= VENDOR_MMTYPE_MAX


def _vendor_frame(dst: str, src: str, mmtype: int, body: bytes = b"", mmv: int = VS_MMV) -> bytes:
    header = bytes([mmv]) + mmtype.to_bytes(2, "little") + QCA_OUI
    return ethernet_frame(dst, src, hp.ETHERTYPE_HOMEPLUG_AV, header + body)


def vs_nw_info_req(host_mac: str) -> bytes:
    return _vendor_frame(hp.LOCAL_MODEM_MAC, host_mac, VS_NW_INFO_REQ, mmv=VS_NW_INFO_MMV)


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """One AVLN of a VS_NW_INFO.CNF: its NID, the modem's role in it, and the other stations' MACs."""

    nid: bytes
    role: int
    cco_mac: str
    stations: tuple[str, ...]


def vs_nw_info_cnf(modem_mac: str, host_mac: str, nid: bytes, stations: list[str], *, evse: bool) -> bytes:
    """The confirmation a modem in AVLN ``nid`` (none: ``nid`` empty) with ``stations`` answers."""
    if not nid:
        body = bytes([0])  # NUMAVLNS 0: not a member of any AVLN
    else:
        role = NW_ROLE_CCO if evse else NW_ROLE_STA
        cco = modem_mac if evse or not stations else stations[0]
        body = bytes([1]) + nid.ljust(hp.NID_LENGTH, b"\x00")[: hp.NID_LENGTH]
        body += bytes([0x01, 0x01, role]) + mac_bytes(cco) + bytes([0x01, len(stations)])
        for index, station in enumerate(stations):
            body += mac_bytes(station) + bytes([index + 2]) + mac_bytes(station) + bytes([9, 9])
    return _vendor_frame(host_mac, modem_mac, VS_NW_INFO_CNF, body, mmv=VS_NW_INFO_MMV)


def decode_vs_nw_info_cnf(frame: bytes) -> list[NetworkInfo] | None:
    """The AVLNs a VS_NW_INFO.CNF (MMV 0) lists, or None if the frame is not one or is cut short."""
    if mme_type(frame) != VS_NW_INFO_CNF:
        return None
    body = frame[hp.ETHERNET_HEADER_LENGTH + QCA_HEADER_LENGTH :]
    networks: list[NetworkInfo] = []
    try:
        count, at = body[0], 1
        for _ in range(count):
            nid = body[at : at + hp.NID_LENGTH]
            at += hp.NID_LENGTH + 2  # SNID, TEI
            role = body[at]
            cco = mac_text(body[at + 1 : at + 7])
            at += 8  # ROLE, CCO_MAC, CCO_TEI
            stas = body[at]
            at += 1
            macs = []
            for _ in range(stas):
                macs.append(mac_text(body[at : at + 6]))
                at += 15  # MAC, TEI, BDA, AVGTX, AVGRX
            if len(body) < at or len(nid) < hp.NID_LENGTH:
                return None
            networks.append(NetworkInfo(bytes(nid), role, cco, tuple(macs)))
    except IndexError:
        return None
    return networks


def vs_sw_ver_cnf(modem_mac: str, host_mac: str, version: str) -> bytes:
    """VS_SW_VER.CNF: MSTATUS 0, MDEVICEID, MVERLENGTH, MVERSION (open-plc-utils plc/VersionInfo1.c)
    [unverified beyond the printable version string :func:`check_modem` reads]."""
    text = version.encode("ascii")
    return _vendor_frame(host_mac, modem_mac, VS_SW_VER_CNF, bytes([0x00, 0x20, len(text)]) + text)


class LocalModem:
    """The host side of a real modem on ``interface``; same callbacks as the emulated modem."""

    def __init__(
        self,
        interface: str,
        host_mac: str,
        *,
        evse: bool,
        observer: object | None = None,
        link_up_timeout_s: float = LINK_UP_TIMEOUT_S,
        poll_interval_s: float = LINK_POLL_INTERVAL_S,
    ) -> None:
        self.interface = interface
        self.host_mac = host_mac.lower()
        self.evse = evse
        self.modem_mac = hp.LOCAL_MODEM_MAC
        self.observer = observer
        self.link_up_timeout_s = link_up_timeout_s
        self.poll_interval_s = poll_interval_s
        self.on_frame: Callable[[EthernetFrame], None] = lambda frame: None
        self.on_link: Callable[[bool], None] = lambda up: None
        self.link_up = False
        self.nid: bytes | None = None  # the NID of the key the host set last
        self.peers: tuple[str, ...] = ()  # the other stations of the AVLN, by the modem's last answer
        self._endpoint: RawEthernetEndpoint | None = None
        self._pump: asyncio.Task[None] | None = None
        self._poll: asyncio.Task[None] | None = None
        self._answers: asyncio.Queue[list[NetworkInfo]] = asyncio.Queue()

    async def open(self) -> None:
        self.attach(await open_raw_ethernet(self.interface, hp.ETHERTYPE_HOMEPLUG_AV, observer=self.observer))

    def attach(self, endpoint: RawEthernetEndpoint) -> None:
        """Talk to the modem through ``endpoint`` (a packet socket on the modem's port, or a test's)."""
        self._endpoint = endpoint
        self._pump = asyncio.ensure_future(self._receive())

    async def close(self) -> None:
        for task in (self._poll, self._pump):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        if self._endpoint is not None:
            self._endpoint.close()

    def send(self, frame: bytes) -> None:
        assert self._endpoint is not None, "modem not open"
        if mme_type(frame) == hp.CM_SET_KEY | hp.MMTYPE_REQ:
            self._stop_polling()
            self._set_link(False)  # a new key leaves the old network
            try:
                nid = decode_slac(frame).fields.get("NID")
            except HomePlugDecodeError:
                nid = None
            self.nid = bytes.fromhex(nid) if isinstance(nid, str) else None
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
        while True:
            frame = await self._endpoint.queue.get()
            mmtype = mme_type(frame.data)
            if mmtype == VS_NW_INFO_CNF:
                networks = decode_vs_nw_info_cnf(frame.data)
                if networks is not None:
                    self._answers.put_nowait(networks)
                continue  # the modem's answer to us, not the SLAC host's business
            self.on_frame(frame)
            if mmtype == hp.CM_SET_KEY | hp.MMTYPE_CNF:
                self._stop_polling()
                self._poll = asyncio.ensure_future(self._poll_link())

    def _stop_polling(self) -> None:
        if self._poll is not None and self._poll is not asyncio.current_task():
            self._poll.cancel()
        self._poll = None

    def _peers_in(self, networks: list[NetworkInfo]) -> tuple[str, ...]:
        """The other stations in the AVLN of our key (any AVLN when the key's NID is unknown)."""
        for network in networks:
            if self.nid is None or network.nid == self.nid:
                return tuple(m for m in network.stations if m not in (hp.BROADCAST_MAC, ZERO_MAC))
        return ()

    async def _ask(self) -> tuple[str, ...] | None:
        """Ask the modem once; the other stations of our AVLN, or None without an answer in time."""
        assert self._endpoint is not None
        while not self._answers.empty():
            self._answers.get_nowait()  # late answers to earlier requests
        self._endpoint.send(vs_nw_info_req(self.host_mac))
        try:
            # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation (close())
            # when the answer arrives at the same moment
            async with asyncio.timeout(self.poll_interval_s):
                networks = await self._answers.get()
        except TimeoutError:
            return None
        return self._peers_in(networks)

    async def _poll_link(self) -> None:
        """After CM_SET_KEY.CNF: ask until the AVLN has formed (or LINK_UP_TIMEOUT_S passed), then keep
        asking until it is lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.link_up_timeout_s
        while not self.link_up:
            started = loop.time()
            peers = await self._ask()
            if peers:
                self.peers = peers
                self._set_link(True)
                break
            if loop.time() >= deadline:
                log.warning(
                    "modem on %s: no AVLN with another station within %g s of CM_SET_KEY.CNF",
                    self.interface,
                    self.link_up_timeout_s,
                )
                return
            await asyncio.sleep(max(0.0, self.poll_interval_s - (loop.time() - started)))
        misses = 0
        while misses < LINK_LOSS_POLLS:
            started = loop.time()
            peers = await self._ask()
            misses = 0 if peers else misses + 1
            await asyncio.sleep(max(0.0, self.poll_interval_s - (loop.time() - started)))
        self.peers = ()
        self._set_link(False)

    def _set_link(self, up: bool) -> None:
        if up != self.link_up:
            self.link_up = up
            self.on_link(up)


def vs_sw_ver_req(host_mac: str) -> bytes:
    return _vendor_frame(hp.LOCAL_MODEM_MAC, host_mac, VS_SW_VER_REQ)


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
