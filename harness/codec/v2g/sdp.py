"""SECC Discovery Protocol (SDP) messages: ISO 15118-2 section 7.10.1 (used unchanged by DIN SPEC 70121).

The EVCC multicasts a SECCDiscoveryReq (UDP, ff02::1 port 15118) and the SECC answers with its
address and TCP port.  Pure bytes <-> messages.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from harness.codec.v2g.v2gtp import (
    V2GTP_HEADER_LENGTH,
    PayloadType,
    V2gtpDecodeError,
    decode_v2gtp,
    encode_v2gtp,
)

# ISO 15118-2 section 7.10.1: SDP server port and the link-local all-nodes group the EVCC sends to.
SDP_SERVER_PORT = 15118
SDP_MULTICAST_ADDRESS = "ff02::1"
# ISO 15118-2 Table 15/16: the security and transport protocol bytes.
SECURITY_TLS = 0x00
SECURITY_NONE = 0x10
TRANSPORT_TCP = 0x00
TRANSPORT_UDP = 0x10  # reserved for future use by ISO 15118-2
# ISO 15118-2 section 7.10.1: the SECC's V2G TCP server port is in the dynamic port range.
SECC_PORT_MIN = 49152
SECC_PORT_MAX = 65535
SDP_REQUEST_PAYLOAD_LENGTH = 2
SDP_RESPONSE_PAYLOAD_LENGTH = 20

SECURITY_NAMES = {SECURITY_TLS: "TLS", SECURITY_NONE: "NONE"}
TRANSPORT_NAMES = {TRANSPORT_TCP: "TCP", TRANSPORT_UDP: "UDP"}


class SdpDecodeError(V2gtpDecodeError):
    """Not a valid SDP message; ``offset`` counts from the start of the V2GTP frame."""


@dataclass(frozen=True, slots=True)
class SeccDiscoveryReq:
    security: int = SECURITY_NONE
    transport: int = TRANSPORT_TCP

    def fields(self) -> dict[str, object]:
        return {
            "Security": _code_name(self.security, SECURITY_NAMES),
            "TransportProtocol": _code_name(self.transport, TRANSPORT_NAMES),
        }


@dataclass(frozen=True, slots=True)
class SeccDiscoveryRes:
    address: ipaddress.IPv6Address
    port: int
    security: int = SECURITY_NONE
    transport: int = TRANSPORT_TCP

    def fields(self) -> dict[str, object]:
        return {
            "SECCIPAddress": str(self.address),
            "SECCPort": self.port,
            "Security": _code_name(self.security, SECURITY_NAMES),
            "TransportProtocol": _code_name(self.transport, TRANSPORT_NAMES),
        }


SdpMessage = SeccDiscoveryReq | SeccDiscoveryRes


def _code_name(code: int, names: dict[int, str]) -> str:
    return names.get(code, f"0x{code:02X}")


def encode_sdp(message: SdpMessage) -> bytes:
    if isinstance(message, SeccDiscoveryReq):
        return encode_v2gtp(PayloadType.SDP_REQUEST, bytes([message.security, message.transport]))
    payload = (
        message.address.packed
        + message.port.to_bytes(2, "big")
        + bytes([message.security, message.transport])
    )
    return encode_v2gtp(PayloadType.SDP_RESPONSE, payload)


def decode_sdp(data: bytes) -> SdpMessage:
    """Decode one SDP datagram, checking every byte an SDP peer must check."""
    try:
        frame = decode_v2gtp(data)
    except V2gtpDecodeError as exc:
        raise SdpDecodeError(exc.offset, exc.reason) from None
    payload = frame.payload
    if frame.payload_type == PayloadType.SDP_REQUEST:
        _check_length(payload, SDP_REQUEST_PAYLOAD_LENGTH, "SECCDiscoveryReq")
        security, transport = payload
        _check_code(security, SECURITY_NAMES, V2GTP_HEADER_LENGTH, "security")
        _check_code(transport, TRANSPORT_NAMES, V2GTP_HEADER_LENGTH + 1, "transport protocol")
        return SeccDiscoveryReq(security, transport)
    if frame.payload_type == PayloadType.SDP_RESPONSE:
        _check_length(payload, SDP_RESPONSE_PAYLOAD_LENGTH, "SECCDiscoveryRes")
        address = ipaddress.IPv6Address(payload[:16])
        port = int.from_bytes(payload[16:18], "big")
        security, transport = payload[18], payload[19]
        _check_code(security, SECURITY_NAMES, V2GTP_HEADER_LENGTH + 18, "security")
        _check_code(transport, TRANSPORT_NAMES, V2GTP_HEADER_LENGTH + 19, "transport protocol")
        return SeccDiscoveryRes(address, port, security, transport)
    raise SdpDecodeError(2, f"payload type 0x{frame.payload_type:04X} is not an SDP payload type")


def _check_length(payload: bytes, expected: int, name: str) -> None:
    if len(payload) != expected:
        raise SdpDecodeError(4, f"{name} payload is {len(payload)} bytes, expected {expected}")


def _check_code(value: int, names: dict[int, str], offset: int, what: str) -> None:
    if value not in names:
        raise SdpDecodeError(offset, f"unknown {what} value 0x{value:02X}")
