"""Where the tester and the DUT meet: interface, addresses and how SDP reaches the other side."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from harness.codec.v2g.sdp import SDP_MULTICAST_ADDRESS
from harness.transport.netns import link_local_address

LOOPBACK_ADDRESS = "::1"


@dataclass(frozen=True, slots=True)
class Link:
    """One side's view of the link.

    ``mode`` is ``netns`` (veth pair between namespaces), ``loopback`` (::1, no multicast: SDP goes
    unicast to ::1) or ``interface`` (a real port: Ethernet, a PLC modem).
    """

    mode: str
    interface: str
    address: str
    peer_address: str | None = None
    netns: str | None = None
    note: str | None = None

    @property
    def scope_id(self) -> int:
        return 0 if self.mode == "loopback" else socket.if_nametoindex(self.interface)

    @property
    def sdp_destination(self) -> str:
        return LOOPBACK_ADDRESS if self.mode == "loopback" else SDP_MULTICAST_ADDRESS

    def sockaddr(self, address: str, port: int) -> tuple[str, int, int, int]:
        scope = self.scope_id if address.lower().startswith(("fe80:", "ff02:")) else 0
        return (address, port, 0, scope)

    def host_for(self, address: str) -> str:
        """``address`` with this link's zone where it is link-local (asyncio resolves 'fe80::1%veth0')."""
        if address.lower().startswith("fe80:") and "%" not in address:
            return f"{address}%{self.interface}"
        return address


def link_on_interface(interface: str) -> Link:
    """The link as a device sees it from inside its namespace, or a lab's real port."""
    if interface == "lo":
        return Link("loopback", "lo", LOOPBACK_ADDRESS)
    address = link_local_address(interface)
    if address is None:
        raise RuntimeError(f"interface {interface} has no IPv6 link-local address (is it up?)")
    return Link("interface", interface, address)
