"""Reference devices with the whole DC charging stack on one PLC link (`vgi sim secc|evcc --service plc`).

A real charger or EV does not start its V2G layer on its own: plug-in (pilot state B), 5 % PWM, SLAC
and the Green PHY link come first, and only then does IP run over the link (ISO 15118-3 clause 7 and
SAE J2931/4: the data link before the network layer; ISO 15118-2 7.10.1: SDP once the link is up).
These devices compose the existing layers in one process on one interface in that order:

* the SECC side runs the EVSE link layer (:func:`~harness.devices.slac_evse.run_evse_slac`: pilot,
  SLAC, emulated modem) and, once the link is matched, the SDP server and DIN SPEC 70121 SECC
  (:func:`~harness.devices.secc.run_secc`);
* the EVCC side runs the EV link layer (:func:`~harness.devices.slac_ev.run_ev_slac`) and, once its
  modem is matched, SDP and the DIN SPEC 70121 session (:func:`~harness.devices.evcc.run_evcc`).

"Matched" is read from the interface itself: the emulated modem's IP gate keeps IPv6 switched off on
the interface until the modem joined the peer's network, so the V2G layer waits until the kernel has
IPv6 on again and the link-local address back.  That is the condition the V2G layer needs anyway (its
sockets bind to that address), and it needs no hook in the link-layer devices.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from pathlib import Path

from harness.devices.evcc import run_evcc
from harness.devices.modem_emulator import IpGate
from harness.devices.runner import DeviceMain
from harness.devices.secc import run_secc
from harness.devices.settings import DeviceSettings
from harness.devices.slac_ev import run_ev_slac
from harness.devices.slac_evse import run_evse_slac
from harness.transport.link import Link

log = logging.getLogger(__name__)

# How often the V2G layer looks whether the link is up.  The modem's own beacon period is 200 ms
# (modem_emulator.BEACON_PERIOD_S), so 20 ms adds nothing noticeable to the link-up time.
LINK_POLL_S = 0.02
# /proc/net/if_inet6 flag of an address still under duplicate address detection (IFA_F_TENTATIVE).
IFA_F_TENTATIVE = 0x40
IF_INET6 = Path("/proc/net/if_inet6")


def ipv6_ready(interface: str, address: str) -> bool:
    """True when ``interface`` has IPv6 on and carries ``address`` as a usable (not tentative) address."""
    disabled = Path("/proc/sys/net/ipv6/conf") / interface / "disable_ipv6"
    try:
        if disabled.read_text().strip() != "0":
            return False
        lines = IF_INET6.read_text().splitlines()
    except OSError:
        return False
    wanted = ipaddress.IPv6Address(address.split("%")[0])
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[5] != interface:
            continue
        if ipaddress.IPv6Address(int(parts[0], 16)) == wanted and not int(parts[4], 16) & IFA_F_TENTATIVE:
            return True
    return False


async def wait_link_up(link: Link, gate: IpGate, link_layer: asyncio.Task[None]) -> bool:
    """Wait until the modem has closed the IP gate (opened) and then opened it (matched), and IPv6 is
    usable on the interface.  False if the link layer ended first."""
    if link.mode == "loopback" or not gate.available():
        # No gate (loopback, or no right to switch IPv6): nothing tells link-up apart; say so in the log.
        log.warning("no IP gate on %s: the V2G layer cannot wait for the PLC link", link.interface)
        return not link_layer.done()
    while not link_layer.done():
        if gate.users > 0 and not gate.closed and ipv6_ready(link.interface, link.address):
            return True
        await asyncio.sleep(LINK_POLL_S)
    return False


async def _run_stack(
    link: Link,
    settings: DeviceSettings,
    faults: frozenset[str],
    link_main: DeviceMain,
    v2g_main: DeviceMain,
    name: str,
) -> None:
    # The modem of the link layer takes this same shared gate object (IpGate.shared per interface).
    gate = IpGate.shared(link.interface)
    link_layer = asyncio.ensure_future(link_main(link, settings, faults))
    v2g: asyncio.Task[None] | None = None
    try:
        if await wait_link_up(link, gate, link_layer):
            print(f"LINK-UP {name} {link.interface}", flush=True)
            v2g = asyncio.ensure_future(v2g_main(link, settings, faults))
            # The device lives as long as its link layer (the plug); an EVCC's session ends on its own.
            await asyncio.wait({link_layer, v2g}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (link_layer, v2g):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            await link_layer
        else:
            await link_layer
    finally:
        for task in (v2g, link_layer):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass


async def run_secc_plc(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """A charger: EVSE pilot and SLAC, then SDP and the DIN SPEC 70121 SECC once the link is matched."""
    await _run_stack(link, settings, faults, run_evse_slac, run_secc, "secc")


async def run_evcc_plc(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """An EV: state B, SLAC on 5 %, then (its modem matched) SDP and a DIN SPEC 70121 session."""
    await _run_stack(link, settings, faults, run_ev_slac, run_evcc, "evcc")
