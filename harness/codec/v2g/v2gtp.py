"""V2G Transfer Protocol (V2GTP) framing: the 8-byte header of ISO 15118-2 section 7.8.3 / DIN SPEC 70121.

Pure bytes <-> frames: no I/O.  Decoding never raises anything but :class:`V2gtpDecodeError`, which
carries the byte offset of the first bad byte so the timeline can point at it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

# ISO 15118-2 Table 9 / DIN SPEC 70121: protocol version 1 and its bitwise inverse.
V2GTP_VERSION = 0x01
V2GTP_INVERSE_VERSION = 0xFE
V2GTP_HEADER_LENGTH = 8
_HEADER = struct.Struct("!BBHI")


class PayloadType(IntEnum):
    """ISO 15118-2 Table 10 and ISO 15118-20 Table 13 payload type values."""

    EXI = 0x8001  # SupportedAppProtocol, DIN SPEC 70121 and ISO 15118-2 messages
    EXI_ISO20_COMMON = 0x8002
    EXI_ISO20_AC = 0x8003
    EXI_ISO20_DC = 0x8004
    EXI_ISO20_ACDP = 0x8005
    EXI_ISO20_WPT = 0x8006
    SDP_REQUEST = 0x9000
    SDP_RESPONSE = 0x9001


class V2gtpDecodeError(ValueError):
    """A byte string is not a valid V2GTP frame; ``offset`` is the first offending byte."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} (byte {offset})")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class V2gtpFrame:
    payload_type: int
    payload: bytes
    version: int = V2GTP_VERSION
    inverse_version: int = V2GTP_INVERSE_VERSION

    @property
    def payload_type_name(self) -> str:
        try:
            return PayloadType(self.payload_type).name
        except ValueError:
            return f"0x{self.payload_type:04X}"


def encode_v2gtp(
    payload_type: int,
    payload: bytes,
    *,
    version: int = V2GTP_VERSION,
    inverse_version: int | None = None,
    length: int | None = None,
) -> bytes:
    """A V2GTP frame.  ``version``, ``inverse_version`` and ``length`` may be set to wrong values on
    purpose: a tester must be able to send malformed headers."""
    inverse = (version ^ 0xFF) if inverse_version is None else inverse_version
    declared = len(payload) if length is None else length
    return _HEADER.pack(version, inverse, payload_type, declared) + payload


def decode_v2gtp_header(data: bytes) -> tuple[int, int, int, int]:
    """(version, inverse, payload type, payload length) of a header, validated."""
    if len(data) < V2GTP_HEADER_LENGTH:
        raise V2gtpDecodeError(len(data), f"truncated V2GTP header: {len(data)} of 8 bytes")
    version, inverse, payload_type, length = _HEADER.unpack_from(data)
    if version != V2GTP_VERSION:
        raise V2gtpDecodeError(0, f"protocol version 0x{version:02X}, expected 0x{V2GTP_VERSION:02X}")
    if inverse != version ^ 0xFF:
        raise V2gtpDecodeError(
            1, f"inverse protocol version 0x{inverse:02X} is not the inverse of 0x{version:02X}"
        )
    return version, inverse, payload_type, length


def decode_v2gtp(data: bytes, *, allow_trailing: bool = False) -> V2gtpFrame:
    """One complete frame.  Trailing bytes are an error unless ``allow_trailing``."""
    version, inverse, payload_type, length = decode_v2gtp_header(data)
    available = len(data) - V2GTP_HEADER_LENGTH
    if length > available:
        raise V2gtpDecodeError(4, f"payload length {length} exceeds the {available} bytes present")
    if length < available and not allow_trailing:
        raise V2gtpDecodeError(V2GTP_HEADER_LENGTH + length, f"{available - length} bytes after the payload")
    payload = bytes(data[V2GTP_HEADER_LENGTH : V2GTP_HEADER_LENGTH + length])
    return V2gtpFrame(payload_type, payload, version, inverse)
