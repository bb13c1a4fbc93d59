"""Reference EVCC: discovers the SECC with SDP, as an EV does after the PLC link comes up, and
opens the V2G TCP connection to the announced address and port."""

from __future__ import annotations

import asyncio

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    SdpDecodeError,
    decode_sdp,
    encode_sdp,
)
from harness.lab.config import LabConfig
from harness.protocol.sdp import Discovered, EvccSdp, GaveUp, SendSdp, StartTimer
from harness.transport.link import Link
from harness.transport.tcp import connect_tcp
from harness.transport.udp import open_udp

# DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout: 20 s to set up communication; the
# reference EV uses it as its TCP connect timeout.
TCP_CONNECT_TIMEOUT_S = 20.0


async def run_evcc(link: Link, lab: LabConfig, faults: frozenset[str]) -> None:
    security = (
        SECURITY_TLS
        if lab.pics.supports("sdp.tls") and not lab.pics.supports("sdp.no_tls")
        else SECURITY_NONE
    )
    machine = EvccSdp(
        security=security,
        response_wait_s=lab.pixit.timer("SDP_RESPONSE_WAIT"),
        destination=link.sdp_destination,
    )
    udp = await open_udp(link)
    loop = asyncio.get_running_loop()
    print(f"READY evcc address={link.address}", flush=True)
    deadline = loop.time()
    actions = machine.start(loop.time())
    try:
        while True:
            for action in actions:
                if isinstance(action, SendSdp):
                    udp.send(encode_sdp(action.message), action.destination, SDP_SERVER_PORT)
                elif isinstance(action, StartTimer):
                    deadline = action.deadline
                elif isinstance(action, GaveUp):
                    print(f"GAVE-UP {action.reason}", flush=True)
                    return
                elif isinstance(action, Discovered):
                    await _open_v2g_connection(link, action)
                    return
            datagram = await udp.receive(max(0.0, deadline - loop.time()))
            if datagram is None:
                actions = machine.timer_expired("sdp-retry", loop.time())
                continue
            try:
                message = decode_sdp(datagram.data)
            except SdpDecodeError:
                actions = []
                continue
            actions = machine.datagram_received(message, loop.time())
    finally:
        udp.close()


async def _open_v2g_connection(link: Link, discovered: Discovered) -> None:
    response = discovered.response
    address = str(response.address)
    reader, writer = await connect_tcp(link, address, response.port, TCP_CONNECT_TIMEOUT_S)
    print(f"CONNECTED {address} {response.port}", flush=True)
    # Without the V2G application layer yet, the EV closes once the peer does.
    try:
        while await reader.read(65536):
            pass
    finally:
        writer.close()
