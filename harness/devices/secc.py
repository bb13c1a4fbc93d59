"""Reference SECC: answers SDP on its link and accepts the EVCC's V2G TCP connection.

Behaves like a good charger: answers every valid SECCDiscoveryReq at once, ignores malformed ones,
offers the security modes its PICS say.  Fault switches (lab `access.faults`, `vgi sim --fault`)
turn it into a broken one on purpose.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from dataclasses import replace

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    SdpDecodeError,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
    decode_sdp,
    encode_sdp,
)
from harness.lab.config import LabConfig
from harness.protocol.sdp import SeccSdp, SendSdp
from harness.transport.link import Link
from harness.transport.tcp import start_tcp_server
from harness.transport.udp import open_udp

# Fault "sdp-slow": well past the EVCC's 250 ms SDP wait (ISO 15118-2 7.10.1).
SLOW_ANSWER_DELAY_S = 0.4
# Fault "sdp-bad-port": a port below the dynamic range ISO 15118-2 7.10.1 requires.
BAD_PORT = 8080


def offered_security(lab: LabConfig) -> tuple[int, ...]:
    offered = []
    if lab.pics.supports("sdp.no_tls"):
        offered.append(SECURITY_NONE)
    if lab.pics.supports("sdp.tls"):
        offered.append(SECURITY_TLS)
    return tuple(offered) or (SECURITY_NONE,)


async def _hold_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # The V2G session layer (supportedAppProtocol onwards) is not served yet: keep the connection
    # until the EVCC closes it, as a charger waiting for the first request would.
    try:
        while await reader.read(65536):
            pass
    except (asyncio.CancelledError, ConnectionError):
        pass  # the device is shutting down, or the EVCC reset the connection
    finally:
        writer.close()


async def run_secc(link: Link, lab: LabConfig, faults: frozenset[str]) -> None:
    server, port = await start_tcp_server(link, _hold_connection)
    machine = SeccSdp(ipaddress.IPv6Address(link.address), port, offered_security(lab))
    udp = await open_udp(link, SDP_SERVER_PORT, listen_multicast=True)
    print(f"READY secc address={link.address} sdp_port={SDP_SERVER_PORT} tcp_port={port}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            datagram = await udp.receive(None)
            assert datagram is not None
            try:
                message: object = decode_sdp(datagram.data)
            except SdpDecodeError:
                if "sdp-answer-malformed" not in faults:
                    continue  # a malformed request is ignored; the EVCC will retry
                message = SeccDiscoveryReq()
            for action in machine.datagram_received(message, datagram.address, loop.time()):
                if not isinstance(action, SendSdp) or "sdp-silent" in faults:
                    continue
                response = action.message
                assert isinstance(response, SeccDiscoveryRes)
                if "sdp-wrong-security" in faults:
                    response = replace(response, security=response.security ^ (SECURITY_NONE ^ SECURITY_TLS))
                if "sdp-bad-port" in faults:
                    response = replace(response, port=BAD_PORT)
                if "sdp-slow" in faults:
                    await asyncio.sleep(SLOW_ANSWER_DELAY_S)
                udp.send(encode_sdp(response), datagram.address, datagram.port)
    finally:
        udp.close()
        server.close()
        print("STOPPED secc", file=sys.stderr, flush=True)
