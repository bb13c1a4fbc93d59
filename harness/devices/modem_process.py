"""One emulated HomePlug Green PHY modem as a process of its own (`vgi sim modem`), sharing its host's
Ethernet interface, so that a SLAC stack the harness did not write can run behind it on a veth exactly
as it runs behind a real modem.

The modem's behaviour is :class:`~harness.devices.modem_emulator.EmulatedModem`'s (one implementation):
CM_SET_KEY.REQ answered with CNF, CM_ATTEN_PROFILE.IND per M-Sound heard (EVSE side), VS_SW_VER and
VS_NW_INFO answered, beacons and the AVLN, and the IPv6 gate on the interface.  Only how it is attached
to its host differs (:class:`SharedInterfaceModem`):

* The host and the modem share one interface, so there is no "between": the host's frames go straight
  onto the veth (the medium), and frames from the medium reach the host's socket directly.  The modem
  sees both through one packet socket for every ethertype (``ETH_P_ALL``, filtered to 0x88E1 in the
  kernel): the host's frames come as PACKET_OUTGOING, the far side's as received frames.
* It acts on the host's outgoing frames addressed to it (the local-modem address 00:b0:52:00:00:01 or
  its own MAC) and on received frames; it skips every frame whose source is its own MAC (the Linux
  kernel shows a packet socket the frames its own host sent, the modem's included), so it never answers
  itself and nothing loops.
* It hands its answers to the host by sending them on the interface: a host whose packet socket
  listens to every ethertype (``ETH_P_ALL``, as pyslac does) sees them as outgoing frames.  A host
  whose socket is bound to 0x88E1 alone does not see outgoing frames, so it cannot hear this modem
  (a limit of sharing one interface; such a host needs the in-process emulator or a real modem).
* What a real modem keeps off the powerline (CM_SET_KEY, CM_ATTEN_PROFILE.IND, vendor MMEs) still
  shows on the shared veth; the far side's modem drops such frames
  (:func:`~harness.devices.modem_emulator.crosses_medium`), and the capture shows them as evidence of
  the DUT's local management.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import DEFAULT_EVSE_ATTENUATION_DB, EmulatedModem, flat_profile
from harness.transport.raw_ethernet import EthernetFrame, interface_mac
from harness.transport.timestamps import ANCILLARY_SPACE, enable_timestamps, receive_time

log = logging.getLogger(__name__)

# linux/if_ether.h and linux/if_packet.h
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
# asm-generic/socket.h
SO_ATTACH_FILTER = 26
_MAX_FRAME = 65535
# Classic BPF (linux/filter.h): load the ethertype half-word at offset 12, keep HomePlug AV frames.
_BPF_LD_H_ABS, _BPF_JEQ_K, _BPF_RET_K = 0x28, 0x15, 0x06
_HOMEPLUG_ONLY = (
    (_BPF_LD_H_ABS, 0, 0, 12),
    (_BPF_JEQ_K, 0, 1, hp.ETHERTYPE_HOMEPLUG_AV),
    (_BPF_RET_K, 0, 0, _MAX_FRAME),
    (_BPF_RET_K, 0, 0, 0),
)
READY_PREFIX = "READY modem"


@dataclass(frozen=True, slots=True)
class TappedFrame:
    frame: EthernetFrame
    outgoing: bool  # sent from this host (the modem's host, or the modem itself)


class SharedInterfaceTap:
    """A packet socket on ``interface`` that sees HomePlug AV frames in both directions."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            program = b"".join(struct.pack("HBBI", *insn) for insn in _HOMEPLUG_ONLY)
            buffer = ctypes.create_string_buffer(program)
            fprog = struct.pack("HL", len(_HOMEPLUG_ONLY), ctypes.addressof(buffer))
            self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            self.sock.bind((interface, ETH_P_ALL))
            enable_timestamps(self.sock)
            self.sock.setblocking(False)
        except BaseException:
            self.sock.close()
            raise
        self.queue: asyncio.Queue[TappedFrame] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        while True:
            try:
                data, ancillary, _flags, addr = self.sock.recvmsg(_MAX_FRAME, ANCILLARY_SPACE)
            except (BlockingIOError, InterruptedError, OSError):
                return
            if int.from_bytes(data[12:14], "big") != hp.ETHERTYPE_HOMEPLUG_AV:
                continue  # queued before the filter was attached
            outgoing = len(addr) > 2 and addr[2] == PACKET_OUTGOING
            self.queue.put_nowait(TappedFrame(EthernetFrame(data, receive_time(ancillary)), outgoing))

    def send(self, frame: bytes) -> None:
        try:
            self.sock.send(frame.ljust(hp.MIN_FRAME_LENGTH, b"\x00"))
        except BlockingIOError:
            log.warning("modem on %s: send queue full, frame dropped", self.interface)

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()


class SharedInterfaceModem(EmulatedModem):
    """The emulated modem attached to a host that shares its interface (see the module text)."""

    _tap: SharedInterfaceTap | None = None

    async def _open_frames(self) -> None:
        self._tap = SharedInterfaceTap(self.interface)

    def _close_frames(self) -> None:
        if self._tap is not None:
            self._tap.close()

    async def _pump_frames(self) -> None:
        assert self._tap is not None
        while True:
            tapped = await self._tap.queue.get()
            self.handle_tapped(tapped)

    def handle_tapped(self, tapped: TappedFrame) -> None:
        """One frame seen on the shared interface."""
        if tapped.frame.src == self.modem_mac:
            return  # the modem's own transmission
        if tapped.outgoing:
            self._from_host(tapped.frame.data)  # already on the wire: only requests to the modem matter
        else:
            self._from_medium(tapped.frame)

    def _forward_to_host(self, frame: EthernetFrame) -> None:
        """Nothing to do: the host's own socket received the frame from the shared interface."""

    def _deliver(self, frame: bytes) -> None:
        assert self._tap is not None, "modem not open"
        self._tap.send(frame)

    def send(self, frame: bytes) -> None:
        raise TypeError("the host of a shared-interface modem sends on the interface itself")


def parse_profile(text: str | None) -> tuple[int, ...]:
    """``--attenuation``: one dB value (a gently sloped profile around it) or all 58 groups, comma
    separated."""
    if text is None:
        return flat_profile(DEFAULT_EVSE_ATTENUATION_DB)
    values = [int(v) for v in text.split(",") if v.strip()]
    if len(values) == 1:
        return flat_profile(values[0])
    if len(values) != hp.ATTEN_GROUPS or not all(0 <= v <= 255 for v in values):
        raise ValueError(f"an attenuation profile is one dB value or {hp.ATTEN_GROUPS} values 0-255")
    return tuple(values)


async def run_modem(
    interface: str, *, evse: bool, profile: Sequence[int], gate: bool = True, host_mac: str | None = None
) -> None:
    """Run the modem until cancelled."""
    host = host_mac or interface_mac(interface)
    modem = SharedInterfaceModem(interface, host, evse=evse, profile=profile, gate=gate)
    await modem.open()
    gated = "on" if modem.gate is not None else "off"
    print(
        f"{READY_PREFIX} role={'evse' if evse else 'ev'} interface={interface} host={host} "
        f"modem={modem.modem_mac} ip-gate={gated}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await modem.close()


async def _until_signalled(coro: object) -> None:
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass


def serve(interface: str, role: str, attenuation: str | None = None, gate: bool = True) -> None:
    """`vgi sim modem`: log to stdout (the DUT log when the harness starts it) and run until signalled."""
    logging.basicConfig(
        level=logging.INFO, format="modem %(asctime)s %(name)s %(message)s", stream=sys.stdout, force=True
    )
    profile = parse_profile(attenuation)
    asyncio.run(_until_signalled(run_modem(interface, evse=role == "evse", profile=profile, gate=gate)))
