"""Emulated HomePlug Green PHY modems for the embedded lab (ISO 15118-3 on a veth link).

Design: each host's modem is a component of that host's own process (the tester, or the reference
device in the DUT's namespace), sitting between the host's SLAC code and the Ethernet interface, the
way a real modem sits between the host's Ethernet port and the mains.  We chose this over a separate
modem process because the veth pair has exactly two ends and a separate process would need a bridge
with two more veth pairs in the bench (shared code other engineers are changing); a component needs no
bench change, works the same for the tester and the reference devices, and lets one process host
several modems (the tester's several EVSEs on one cable bundle).  A host stack the harness did not
write gets the same modem as a process of its own on its interface
(:mod:`harness.devices.modem_process`, `vgi sim modem`): it shares the interface instead of sitting
in front of it, which needs no bridge either.

What the emulated modem does:

* **Local management**: CM_SET_KEY.REQ from its host (to the local-modem MAC or the modem's own MAC)
  never reaches the medium; the modem takes the NID/NMK and answers CM_SET_KEY.CNF to the host.
* **Attenuation**: for every CM_MNBC_SOUND.IND it hears on the medium, an EVSE-side modem reports
  CM_ATTEN_PROFILE.IND to its host with its configured 58-group attenuation profile (several EVSEs
  with different profiles make a cable bundle; the EV must pick the lowest).
* **The logical network**: a modem that holds a key broadcasts a beacon every :data:`BEACON_PERIOD_S`
  (ethertype 0x88B6, local experimental, format below) carrying its NID and a digest of its NMK - never
  the NMK itself.  The link is up while a modem of the other role (EV <-> EVSE) with the same NID and
  NMK digest is heard; it goes down after :data:`BEACON_LOSS_S` without one (the peer left the AVLN,
  or :meth:`EmulatedModem.leave` made this one leave).
* **IP gating (real)**: while no modem of the interface is linked, an :class:`IpGate` switches IPv6
  off on that interface, so the host neither sends nor receives IP over the link.  The reference
  devices (the DUT side) gate; the tester's modems do not (``gate=False``), because the tester's
  capture point is its host's port in front of the modem: what the tester host sends shows in the
  capture and the far side's gate drops it, and the capture's sync markers must still go out.

* **Two ways to host it**: the logic below (:meth:`EmulatedModem._from_host`,
  :meth:`EmulatedModem._from_medium`, beacons, link, gate) is hosted either in the host's own process
  (this class: the host calls :meth:`EmulatedModem.send` and gets ``on_frame``), or as a process of its
  own sharing the host's interface (:class:`harness.devices.modem_process.SharedInterfaceModem`,
  ``vgi sim modem``), for a host stack that talks to its local modem over an Ethernet port.
* **Local management stays local**: frames between a host and its own modem (CM_SET_KEY,
  CM_ATTEN_PROFILE.IND, Qualcomm vendor MMEs, anything to the local-modem address) never cross the
  powerline, so a modem hearing one on the medium does not hand it to its host
  (:func:`crosses_medium`).  On a shared veth such frames of the far side's modem process are seen.
* **Status**: it answers the Qualcomm vendor requests VS_SW_VER and VS_NW_INFO
  (:mod:`harness.devices.slac_modem`) as a QCA7000 would, so a host can ask whether its AVLN formed.

Beacon frame (ethertype 0x88B6, padded to 60 bytes)::

    dst ff:ff:ff:ff:ff:ff, src = the modem's MAC
    "VGIB" | version 1 (u8) | role (u8: 1 EV, 2 EVSE) | NID (7) | SHA-256(NMK)[:8] | host MAC (6)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.codec import homeplug as hp
from harness.codec.homeplug import HomePlugDecodeError, decode_slac, mme_type
from harness.devices.slac_modem import (
    VS_NW_INFO_REQ,
    VS_SW_VER_REQ,
    is_vendor_mme,
    vs_nw_info_cnf,
    vs_sw_ver_cnf,
)
from harness.transport.raw_ethernet import (
    ETHERTYPE_LOCAL_EXPERIMENTAL_2,
    EthernetFrame,
    RawEthernetEndpoint,
    ethernet_frame,
    mac_bytes,
    mac_text,
    open_raw_ethernet,
)

log = logging.getLogger(__name__)

ETHERTYPE_MODEM_BEACON = ETHERTYPE_LOCAL_EXPERIMENTAL_2
BEACON_MAGIC = b"VGIB"
BEACON_VERSION = 1
ROLE_EV, ROLE_EVSE = 1, 2
# The emulated AVLN's beacon period and loss time.  HomePlug GP beacons every ~33 ms on the mains; we
# need far fewer frames, only the link to follow key changes quickly compared with the ISO 15118-3
# link timers (TT_match_join 12 s, T_conn_resume 6 s).
BEACON_PERIOD_S = 0.2
BEACON_LOSS_S = 3 * BEACON_PERIOD_S
NMK_DIGEST_LENGTH = 8
# Default attenuation the reference EVSE's modem reports (dB per group): a plausible single-cable
# value, as in the multi-EVSE sample capture the plugged EVSE is around 20-30 dB and neighbours higher.
DEFAULT_EVSE_ATTENUATION_DB = 22
# What the emulated modem reports as its firmware in VS_SW_VER.CNF.
EMULATED_FIRMWARE = "VGI-EMULATED-GREENPHY-1.0"
# Management messages between a host and its own modem (HomePlug AV 1.1 11.5.4 CM_SET_KEY, HomePlug GP
# CM_ATTEN_PROFILE.IND): they never cross the powerline.
LOCAL_MMTYPES = frozenset(
    {
        hp.CM_SET_KEY | hp.MMTYPE_REQ,
        hp.CM_SET_KEY | hp.MMTYPE_CNF,
        hp.CM_ATTEN_PROFILE | hp.MMTYPE_IND,
    }
)


def crosses_medium(frame: bytes) -> bool:
    """Whether a frame could have come over the powerline: local management (to the local-modem
    address, CM_SET_KEY, CM_ATTEN_PROFILE.IND, vendor-specific MMEs) never does."""
    if mac_text(frame[0:6]) == hp.LOCAL_MODEM_MAC:
        return False
    mmtype = mme_type(frame)
    return mmtype is None or (mmtype not in LOCAL_MMTYPES and not is_vendor_mme(mmtype))


def flat_profile(db: int) -> tuple[int, ...]:
    """A 58-group attenuation profile with a gentle slope around ``db`` (real profiles rise with
    frequency); its average is ``db`` to within half a dB."""
    slope = [round((i - (hp.ATTEN_GROUPS - 1) / 2) / 10) for i in range(hp.ATTEN_GROUPS)]
    return tuple(max(0, min(255, db + s)) for s in slope)


def nmk_digest(nmk: bytes) -> bytes:
    return hashlib.sha256(nmk).digest()[:NMK_DIGEST_LENGTH]


def encode_beacon(modem_mac: str, host_mac: str, role: int, nid: bytes, nmk: bytes) -> bytes:
    payload = (
        BEACON_MAGIC
        + bytes([BEACON_VERSION, role])
        + nid.ljust(hp.NID_LENGTH, b"\x00")[: hp.NID_LENGTH]
        + nmk_digest(nmk)
        + mac_bytes(host_mac)
    )
    return ethernet_frame(hp.BROADCAST_MAC, modem_mac, ETHERTYPE_MODEM_BEACON, payload)


def decode_beacon(frame: bytes) -> tuple[str, int, bytes, bytes, str] | None:
    """(modem MAC, role, NID, NMK digest, host MAC) of a beacon, None for anything else."""
    body = frame[14:]
    if len(body) < 4 + 2 + hp.NID_LENGTH + NMK_DIGEST_LENGTH + 6 or not body.startswith(BEACON_MAGIC):
        return None
    if body[4] != BEACON_VERSION:
        return None
    role = body[5]
    nid = body[6 : 6 + hp.NID_LENGTH]
    at = 6 + hp.NID_LENGTH
    digest = body[at : at + NMK_DIGEST_LENGTH]
    host = mac_text(body[at + NMK_DIGEST_LENGTH : at + NMK_DIGEST_LENGTH + 6])
    return mac_text(frame[6:12]), role, nid, digest, host


class IpGate:
    """Stops IPv6 on an interface (sysctl ``disable_ipv6``) while none of this process's modems on it
    is linked; shared by every modem of the interface in this process.

    The kernel then neither sends nor accepts IPv6 there: the link really carries no IP before
    matching.  (tc filters would be finer, but their action modules are often missing in containers.)
    Duplicate address detection is switched off on the interface, so its link-local address (the same
    EUI-64 address: it derives from the MAC) is usable as soon as the gate opens."""

    _gates: dict[str, IpGate] = {}

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.linked: set[int] = set()
        self.users = 0
        self.closed = False

    @classmethod
    def shared(cls, interface: str) -> IpGate:
        gate = cls._gates.get(interface)
        if gate is None:
            gate = cls._gates[interface] = cls(interface)
        return gate

    def _conf(self, key: str) -> Path:
        return Path("/proc/sys/net/ipv6/conf") / self.interface / key

    def available(self) -> bool:
        path = self._conf("disable_ipv6")
        return path.exists() and os.access(path, os.W_OK)

    def acquire(self) -> None:
        self.users += 1
        if self.users == 1:
            self._conf("accept_dad").write_text("0")
            self._set(closed=True)

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self.users = 0
            self._set(closed=False)
            IpGate._gates.pop(self.interface, None)

    def set_linked(self, modem: int, up: bool) -> None:
        if up:
            self.linked.add(modem)
        else:
            self.linked.discard(modem)
        if self.users:
            self._set(closed=not self.linked)

    def _set(self, closed: bool) -> None:
        if closed != self.closed:
            self._conf("disable_ipv6").write_text("1" if closed else "0")
            self.closed = closed
            log.info("IP gate on %s %s", self.interface, "closed" if closed else "open")


class EmulatedModem:
    """One host's emulated Green PHY modem on ``interface``.

    The host sends through :meth:`send` and gets frames and link changes through the callbacks
    ``on_frame(frame: EthernetFrame)`` and ``on_link(up: bool)``."""

    def __init__(
        self,
        interface: str,
        host_mac: str,
        *,
        evse: bool,
        modem_mac: str | None = None,
        profile: Sequence[int] | None = None,
        observer: object | None = None,
        gate: bool = True,
    ) -> None:
        self.interface = interface
        self.host_mac = host_mac.lower()
        self.role = ROLE_EVSE if evse else ROLE_EV
        # A locally administered MAC derived from the host's, as a modem has its own address.
        self.modem_mac = (modem_mac or "02" + self.host_mac[2:]).lower()
        if self.modem_mac == self.host_mac:
            self.modem_mac = "06" + self.host_mac[2:]
        self.profile = tuple(profile) if profile is not None else flat_profile(DEFAULT_EVSE_ATTENUATION_DB)
        if len(self.profile) != hp.ATTEN_GROUPS:
            raise ValueError(f"an attenuation profile has {hp.ATTEN_GROUPS} groups")
        self.observer = observer
        shared_gate = IpGate.shared(interface) if gate else None
        self.gate = shared_gate if shared_gate is not None and shared_gate.available() else None
        self.on_frame: Callable[[EthernetFrame], None] = lambda frame: None
        self.on_link: Callable[[bool], None] = lambda up: None
        self.nid = b""
        self.nmk = b""
        self.link_up = False
        self.peer: str | None = None  # host MAC of the linked peer
        self.peer_modem: str | None = None  # the linked peer's modem MAC
        self._last_peer_beacon = 0.0
        self._left: tuple[bytes, bytes] | None = None
        self._slac: RawEthernetEndpoint | None = None
        self._beacons: RawEthernetEndpoint | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        await self._open_frames()
        self._beacons = await open_raw_ethernet(self.interface, ETHERTYPE_MODEM_BEACON)
        if self.gate is not None:
            self.gate.acquire()
        self._tasks = [
            asyncio.ensure_future(self._pump_frames()),
            asyncio.ensure_future(self._pump_beacons()),
            asyncio.ensure_future(self._beacon_loop()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass
        self._tasks = []
        if self.gate is not None:
            self.gate.set_linked(id(self), False)
            self.gate.release()
            self.gate = None
        self._close_frames()
        if self._beacons is not None:
            self._beacons.close()

    # ---------------------------------------------------------------- hosted in the host's process

    async def _open_frames(self) -> None:
        self._slac = await open_raw_ethernet(self.interface, hp.ETHERTYPE_HOMEPLUG_AV, observer=self.observer)

    def _close_frames(self) -> None:
        if self._slac is not None:
            self._slac.close()

    async def _pump_frames(self) -> None:
        assert self._slac is not None
        while True:
            self._from_medium(await self._slac.queue.get())

    def _forward_to_host(self, frame: EthernetFrame) -> None:
        """A frame from the medium, for the host."""
        self.on_frame(frame)

    def _deliver(self, frame: bytes) -> None:
        """A frame the modem itself makes for its host (confirmations, attenuation reports)."""
        self._to_host(frame)

    # ---------------------------------------------------------------- host side

    def send(self, frame: bytes) -> None:
        """A frame from the host: local management is answered here, the rest goes on the medium."""
        assert self._slac is not None, "modem not open"
        if not self._from_host(frame):
            self._slac.send(frame)

    # ---------------------------------------------------------------- the modem's logic (both hostings)

    def _from_host(self, frame: bytes) -> bool:
        """Handle a frame the host sent; True if it was for the modem itself (it then stays off the
        medium; a request the modem does not know is swallowed, as a real modem's firmware does)."""
        if mac_text(frame[0:6]) not in (hp.LOCAL_MODEM_MAC, self.modem_mac):
            return False
        mmtype = mme_type(frame)
        host = mac_text(frame[6:12])
        if mmtype == hp.CM_SET_KEY | hp.MMTYPE_REQ:
            self._set_key(frame)
        elif mmtype == VS_SW_VER_REQ:
            self._deliver(vs_sw_ver_cnf(self.modem_mac, host, EMULATED_FIRMWARE))
        elif mmtype == VS_NW_INFO_REQ:
            stations = [self.peer_modem] if self.link_up and self.peer_modem else []
            nid = self.nid if self.nmk else b""
            self._deliver(vs_nw_info_cnf(self.modem_mac, host, nid, stations, evse=self.role == ROLE_EVSE))
        else:
            log.info("modem %s: local request 0x%04x not emulated, ignored", self.modem_mac, mmtype or 0)
        return True

    def _from_medium(self, received: EthernetFrame) -> None:
        """Handle a frame heard on the medium: hand it to the host; an EVSE's modem also reports the
        attenuation of each M-Sound."""
        frame = received.data
        if not crosses_medium(frame):
            return  # another host's talk with its own modem (a shared veth carries it; mains would not)
        self._forward_to_host(received)
        if self.role == ROLE_EVSE and mme_type(frame) == hp.CM_MNBC_SOUND | hp.MMTYPE_IND:
            pev = mac_text(frame[6:12])
            self._deliver(hp.encode_atten_profile_ind(self.modem_mac, pev, self.profile, dst=self.host_mac))

    def _to_host(self, frame: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.on_frame(EthernetFrame(frame.ljust(hp.MIN_FRAME_LENGTH, b"\x00"), loop.time()))

    def _set_key(self, frame: bytes) -> None:
        try:
            message = decode_slac(frame)
        except HomePlugDecodeError:
            return  # a modem does not answer a request it cannot parse
        nid, nmk = message.fields.get("NID"), message.fields.get("NewKey")
        if not isinstance(nid, str) or not isinstance(nmk, str):
            return
        self.nid, self.nmk = bytes.fromhex(nid), bytes.fromhex(nmk)
        self._deliver(hp.encode_set_key_cnf(self.modem_mac, message.src))
        self._beacon()  # announce the new network at once
        self._update_link(False)  # a new key leaves the old network

    def leave(self) -> None:
        """Forget the key (the station leaves the AVLN, e.g. to model a link loss)."""
        self._left = (self.nid, self.nmk)
        self.nid, self.nmk = b"", b""
        self._update_link(False)

    def rejoin(self) -> None:
        """Take back the key forgotten by :meth:`leave` (an EVSE's modem keeps its network)."""
        if self._left is not None:
            self.nid, self.nmk = self._left
            self._left = None
            self._beacon()

    # ---------------------------------------------------------------- medium side

    async def _pump_beacons(self) -> None:
        assert self._beacons is not None
        loop = asyncio.get_running_loop()
        while True:
            received = await self._beacons.queue.get()
            beacon = decode_beacon(received.data)
            if beacon is None or not self.nmk:
                continue
            modem, role, nid, digest, host = beacon
            if role != self.role and nid == self.nid and digest == nmk_digest(self.nmk):
                self._last_peer_beacon = loop.time()
                self.peer = host
                self.peer_modem = modem
                self._update_link(True)

    async def _beacon_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(BEACON_PERIOD_S)
            self._beacon()
            if self.link_up and loop.time() - self._last_peer_beacon > BEACON_LOSS_S:
                self._update_link(False)

    def _beacon(self) -> None:
        if self.nmk and self._beacons is not None:
            self._beacons.send(encode_beacon(self.modem_mac, self.host_mac, self.role, self.nid, self.nmk))

    def _update_link(self, up: bool) -> None:
        if up == self.link_up:
            return
        self.link_up = up
        if not up:
            self.peer = None
            self.peer_modem = None
        log.info("modem %s: link %s", self.modem_mac, "up" if up else "down")
        if self.gate is not None:
            self.gate.set_linked(id(self), up)
        self.on_link(up)
