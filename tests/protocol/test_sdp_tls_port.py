"""An SECC that serves TLS on a port of its own announces it to the EVs it grants TLS (ISO 15118-2 7.10.1)."""

from __future__ import annotations

import ipaddress

from harness.codec.v2g.sdp import SECURITY_NONE, SECURITY_TLS, TRANSPORT_TCP, SeccDiscoveryReq
from harness.protocol.core import MessageReceived, Send
from harness.protocol.sdp import SeccSdp

ADDRESS = ipaddress.IPv6Address("fe80::2")
PLAIN_PORT, TLS_PORT = 50001, 50002
EV = "[fe80::1]:40000"


def _answer(core: SeccSdp, security: int) -> tuple[int, int]:
    (send,) = core.handle(MessageReceived(SeccDiscoveryReq(security, TRANSPORT_TCP), EV), 0.0)
    assert isinstance(send, Send) and send.destination == EV
    return send.message.security, send.message.port


def test_each_security_gets_its_own_port() -> None:
    core = SeccSdp(ADDRESS, PLAIN_PORT, (SECURITY_NONE, SECURITY_TLS), tls_port=TLS_PORT)
    assert _answer(core, SECURITY_TLS) == (SECURITY_TLS, TLS_PORT)
    assert _answer(core, SECURITY_NONE) == (SECURITY_NONE, PLAIN_PORT)


def test_without_a_tls_port_the_one_port_serves_both() -> None:
    core = SeccSdp(ADDRESS, PLAIN_PORT, (SECURITY_TLS,))
    assert _answer(core, SECURITY_NONE) == (SECURITY_TLS, PLAIN_PORT)


def test_tls_port_unused_when_tls_is_not_granted() -> None:
    core = SeccSdp(ADDRESS, PLAIN_PORT, (SECURITY_NONE,), tls_port=TLS_PORT)
    assert _answer(core, SECURITY_TLS) == (SECURITY_NONE, PLAIN_PORT)
