"""SLAC management messages (HomePlug Green PHY MMEs, ISO 15118-3 Annex A), as bytes and as scapy layers.

Two views of the same wire format:

* scapy layers for building and sending: ``scapy.contrib.homepluggp`` extended with what it lacks
  (CM_VALIDATE.REQ/CNF, CM_AMP_MAP.REQ/CNF, and CM_ATTEN_PROFILE.IND under its standard name), plus
  ``encode_*`` helpers that return complete Ethernet frames padded to the 60-byte minimum.
* :func:`decode_slac`, a pure decoder for the capture/timeline side.  It walks a declarative layout
  table (one per MMTYPE), never trusts a length field, and raises only :class:`HomePlugDecodeError`
  with the byte offset of the first offending byte.

Field names follow ISO 15118-3 Annex A (``RunID``, ``NUM_SOUNDS``, ``Time_Out``, ``RESP_TYPE``,
``FORWARDING_STA``, ``ATTEN_PROFILE`` ...).  Byte strings (RunID, NID, NMK, ids) are rendered as
lowercase hex so that :attr:`SlacMessage.fields` is JSON-compatible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scapy.contrib.homeplugav import HomePlugAV
from scapy.contrib.homepluggp import (
    CM_ATTEN_CHAR_IND,
    CM_ATTEN_CHAR_RSP,
    CM_ATTENUATION_CHARACTERISTICS_MME,
    CM_MNBC_SOUND_IND,
    CM_SET_KEY_CNF,
    CM_SET_KEY_REQ,
    CM_SLAC_MATCH_CNF,
    CM_SLAC_MATCH_REQ,
    CM_SLAC_PARM_CNF,
    CM_SLAC_PARM_REQ,
    CM_START_ATTEN_CHAR_IND,
    HPGP_GROUP,
    SLAC_varfield,
    SLAC_varfield_cnf,
)
from scapy.fields import ByteField, FieldLenField, FieldListField, MACField, StrLenField
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, bind_layers, split_bottom_up

# --------------------------------------------------------------------------------------------------
# Code points
# --------------------------------------------------------------------------------------------------

# IEEE / HomePlug AV 1.1: ethertype of HomePlug AV management messages (MMEs).
ETHERTYPE_HOMEPLUG_AV = 0x88E1
# IEEE 802.1Q / 802.1ad tag protocol identifiers; test systems (e.g. the DS5366 captures) tag frames.
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
# HomePlug AV 1.1 section 11.1: MMV 0x01 = HomePlug AV 1.1, which SLAC (ISO 15118-3 A.2) requires; its
# header carries the 2-byte fragmentation information (FMI) after MMTYPE.
MMV_HOMEPLUG_AV_1_1 = 0x01
# Ethernet: minimum frame length without FCS; ISO 15118-3 A.2 MMEs shorter than this are padded.
MIN_FRAME_LENGTH = 60
ETHERNET_HEADER_LENGTH = 14
MME_HEADER_LENGTH = 5  # MMV (1) + MMTYPE (2, little endian) + FMI (2)
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
# HomePlug AV 1.1 section 11.1.4: the "local management" address a host uses to reach its own modem
# (Qualcomm/Atheros modems answer it; CM_SET_KEY may also go to the modem's own MAC).
LOCAL_MODEM_MAC = "00:b0:52:00:00:01"

# HomePlug AV 1.1 section 11.1.3: the two least significant bits of MMTYPE.
MMTYPE_REQ = 0
MMTYPE_CNF = 1
MMTYPE_IND = 2
MMTYPE_RSP = 3
_SUFFIXES = {MMTYPE_REQ: "REQ", MMTYPE_CNF: "CNF", MMTYPE_IND: "IND", MMTYPE_RSP: "RSP"}

# ISO 15118-3 Table A.4 / HomePlug GP 1.1 Table 11-x: MMTYPE base values.
CM_SET_KEY = 0x6008  # HomePlug AV 1.1 11.5.4: host -> local modem
CM_AMP_MAP = 0x601C  # HomePlug GP 1.1 / ISO 15118-3 A.9.3 [unverified per REFERENCE.md section 3]
CM_SLAC_PARM = 0x6064  # ISO 15118-3 A.9.2.2
CM_START_ATTEN_CHAR = 0x6068  # ISO 15118-3 A.9.2.3 (only .IND = 0x606A exists)
CM_ATTEN_CHAR = 0x606C  # ISO 15118-3 A.9.2.5 (.IND 0x606E, .RSP 0x606F)
CM_MNBC_SOUND = 0x6074  # ISO 15118-3 A.9.2.4 (.IND 0x6076)
CM_VALIDATE = 0x6078  # ISO 15118-3 A.9.2.6
CM_SLAC_MATCH = 0x607C  # ISO 15118-3 A.9.2.7
CM_ATTEN_PROFILE = 0x6084  # HomePlug GP 1.1: .IND 0x6086 from the local modem to its host

MMTYPE_BASE_NAMES: dict[int, str] = {
    CM_SET_KEY: "CM_SET_KEY",
    CM_AMP_MAP: "CM_AMP_MAP",
    CM_SLAC_PARM: "CM_SLAC_PARM",
    CM_START_ATTEN_CHAR: "CM_START_ATTEN_CHAR",
    CM_ATTEN_CHAR: "CM_ATTEN_CHAR",
    CM_MNBC_SOUND: "CM_MNBC_SOUND",
    CM_VALIDATE: "CM_VALIDATE",
    CM_SLAC_MATCH: "CM_SLAC_MATCH",
    CM_ATTEN_PROFILE: "CM_ATTEN_PROFILE",
}

# ISO 15118-3 Table A.2 and A.3: sizes of the identifiers carried in SLAC messages.
RUN_ID_LENGTH = 8
NID_LENGTH = 7
NMK_LENGTH = 16
STATION_ID_LENGTH = 17  # SOURCE_ID, RESP_ID, PEV ID, EVSE ID, SenderID
RANDOM_LENGTH = 16  # CM_MNBC_SOUND.IND Rnd
# ISO 15118-3 A.9.2.5 / HomePlug GP: the attenuation profile has 58 groups of carriers.
ATTEN_GROUPS = 58
# ISO 15118-3 Table A.2: CM_SLAC_MATCH variable field lengths (MVFLength).
MATCH_REQ_MVF_LENGTH = 0x3E
MATCH_CNF_MVF_LENGTH = 0x56

# ISO 15118-3 Table A.2: fixed values in the SLAC messages.
APPLICATION_TYPE_PEV_EVSE = 0x00  # "PEV-EVSE matching"
SECURITY_TYPE_NONE = 0x00  # "no security"
RESP_TYPE_OTHER_GP_STA = 0x01  # results are sent to another GP station's host (the EV)
ATTEN_CHAR_RESULT_SUCCESS = 0x00
# HomePlug AV 1.1 11.5.4: key type of CM_SET_KEY.REQ for the network membership key.
KEY_TYPE_NMK = 0x01
# HomePlug AV 1.1 11.5.4 defines Result 0 as success, but the QCA modem in the IEC61851_AC_PWM_Basic
# sample capture confirms keys it accepted with Result 0x01; the SLAC cores therefore judge the key by
# the link coming up, not by this field.
SET_KEY_RESULT_SUCCESS = 0x00
# HomePlug AV 1.1 11.5.4: PID 0x04 = "HLE protocol" (key provided by the host), NewEKS 0x01 selects the
# NMK.  PMN 0x00 in the request and 0xFF in the confirmation, as in the DS5366 sample capture.
SET_KEY_PID_HLE = 0x04
SET_KEY_PMN_FIRST = 0x00
SET_KEY_PMN_LAST = 0xFF
SET_KEY_NEW_EKS_NMK = 0x01

# ISO 15118-3 A.9.2.6 (CM_VALIDATE): signal type and result codes.
VALIDATE_SIGNAL_TYPE_PEV_S2_TOGGLES = 0x00
VALIDATE_RESULT_NOT_READY = 0x00
VALIDATE_RESULT_READY = 0x01
VALIDATE_RESULT_SUCCESS = 0x02
VALIDATE_RESULT_FAILURE = 0x03
VALIDATE_RESULT_NOT_REQUIRED = 0x04
# HomePlug GP: CM_AMP_MAP.CNF ResType.
AMP_MAP_RESULT_SUCCESS = 0x00
AMP_MAP_RESULT_FAILURE = 0x01


def mmtype_name(mmtype: int) -> str:
    """``0x6065`` -> ``"CM_SLAC_PARM.CNF"``; unknown types as hex."""
    base = MMTYPE_BASE_NAMES.get(mmtype & ~0x3)
    if base is None:
        return f"MMTYPE_0x{mmtype:04X}"
    return f"{base}.{_SUFFIXES[mmtype & 0x3]}"


# --------------------------------------------------------------------------------------------------
# scapy layers that scapy 2.8 lacks
# --------------------------------------------------------------------------------------------------


class CM_VALIDATE_REQ(Packet):  # noqa: N801 (the standard's name)
    """ISO 15118-3 A.9.2.6: the EV asks the EVSE to validate the match by toggling the pilot."""

    name = "CM_VALIDATE.REQ"
    fields_desc = [
        ByteField("SignalType", VALIDATE_SIGNAL_TYPE_PEV_S2_TOGGLES),
        ByteField("Timer", 0),  # toggle window in 100 ms units; 0 in the first request
        ByteField("Result", VALIDATE_RESULT_READY),
    ]


class CM_VALIDATE_CNF(Packet):  # noqa: N801
    """ISO 15118-3 A.9.2.6: the EVSE's answer; ToggleNum is the number of B-C-B toggles it saw."""

    name = "CM_VALIDATE.CNF"
    fields_desc = [
        ByteField("SignalType", VALIDATE_SIGNAL_TYPE_PEV_S2_TOGGLES),
        ByteField("ToggleNum", 0),
        ByteField("Result", VALIDATE_RESULT_READY),
    ]


class CM_AMP_MAP_REQ(Packet):  # noqa: N801
    """HomePlug GP / ISO 15118-3 A.9.3: amplitude map, one 4-bit entry per carrier [unverified]."""

    name = "CM_AMP_MAP.REQ"
    fields_desc = [
        FieldLenField("AMLEN", None, length_of="AMDATA", fmt="<H", adjust=lambda pkt, x: x * 2),
        StrLenField("AMDATA", b"", length_from=lambda pkt: (pkt.AMLEN + 1) // 2),
    ]


class CM_AMP_MAP_CNF(Packet):  # noqa: N801
    name = "CM_AMP_MAP.CNF"
    fields_desc = [ByteField("ResType", AMP_MAP_RESULT_SUCCESS)]


class CM_ATTEN_PROFILE_IND(Packet):  # noqa: N801
    """HomePlug GP: the local modem reports the attenuation of one received M-Sound to its host.

    scapy calls this CM_ATTENUATION_CHARACTERISTICS_MME; same layout, standard name."""

    name = "CM_ATTEN_PROFILE.IND"
    fields_desc = [
        MACField("PEV_MAC", "00:00:00:00:00:00"),
        FieldLenField("NumGroups", None, count_of="AAG", fmt="B"),
        ByteField("Reserved", 0),
        FieldListField("AAG", [], ByteField("group", 0), count_from=lambda pkt: pkt.NumGroups),
    ]


bind_layers(HomePlugAV, CM_VALIDATE_REQ, HPtype=CM_VALIDATE | MMTYPE_REQ)
bind_layers(HomePlugAV, CM_VALIDATE_CNF, HPtype=CM_VALIDATE | MMTYPE_CNF)
bind_layers(HomePlugAV, CM_AMP_MAP_REQ, HPtype=CM_AMP_MAP | MMTYPE_REQ)
bind_layers(HomePlugAV, CM_AMP_MAP_CNF, HPtype=CM_AMP_MAP | MMTYPE_CNF)
# Dissect 0x6086 with the standard-named layer; scapy's own class stays importable.
split_bottom_up(HomePlugAV, CM_ATTENUATION_CHARACTERISTICS_MME, HPtype=CM_ATTEN_PROFILE | MMTYPE_IND)
bind_layers(HomePlugAV, CM_ATTEN_PROFILE_IND, HPtype=CM_ATTEN_PROFILE | MMTYPE_IND)
# Test systems tag SLAC frames with a VLAN (the DS5366 captures do); let scapy dissect those too.
bind_layers(Dot1Q, HomePlugAV, type=ETHERTYPE_HOMEPLUG_AV)


# --------------------------------------------------------------------------------------------------
# Decoding: a declarative layout per MMTYPE
# --------------------------------------------------------------------------------------------------


class HomePlugDecodeError(ValueError):
    """A frame is not a well-formed SLAC message; ``offset`` is the first offending byte of the frame."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} (byte {offset})")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class SlacMessage:
    """One decoded SLAC-related MME.  ``fields`` is JSON-compatible (ints, hex strings, lists)."""

    name: str  # e.g. "CM_SLAC_PARM.REQ"
    mmtype: int
    src: str  # Ethernet source MAC, lowercase colon notation
    dst: str
    fields: dict[str, object]
    vlan: int | None = None  # innermost VLAN id if the frame was tagged

    @property
    def run_id(self) -> bytes | None:
        value = self.fields.get("RunID")
        return bytes.fromhex(value) if isinstance(value, str) else None


# Field kinds: fixed-size values and two variable-length shapes.
_U8 = "u8"
_U16LE = "u16le"
_MAC = "mac"
_HEX = "hex"  # fixed-length opaque bytes rendered as hex
_COUNTED_U8_LIST = "counted"  # a 1-byte count (its own field) then that many 1-byte values
_NIBBLES = "nibbles"  # CM_AMP_MAP: a 2-byte count of 4-bit entries, then ceil(n/2) bytes


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: str
    length: int = 1
    count_field: str = ""  # for the variable kinds: the field holding the count


def _f(name: str, kind: str, length: int = 1, count_field: str = "") -> _Field:
    return _Field(name, kind, length, count_field)


_APP_SEC = (_f("APPLICATION_TYPE", _U8), _f("SECURITY_TYPE", _U8))
_MATCH_COMMON = (
    *_APP_SEC,
    _f("MVFLength", _U16LE, 2),
    _f("PEV_ID", _HEX, STATION_ID_LENGTH),
    _f("PEV_MAC", _MAC, 6),
    _f("EVSE_ID", _HEX, STATION_ID_LENGTH),
    _f("EVSE_MAC", _MAC, 6),
    _f("RunID", _HEX, RUN_ID_LENGTH),
    _f("RSVD", _HEX, 8),
)

# ISO 15118-3 Table A.2 / A.3 and HomePlug AV 1.1 11.5.4: MME payload layouts, in wire order.
LAYOUTS: dict[int, tuple[_Field, ...]] = {
    CM_SLAC_PARM | MMTYPE_REQ: (*_APP_SEC, _f("RunID", _HEX, RUN_ID_LENGTH)),
    CM_SLAC_PARM | MMTYPE_CNF: (
        _f("M-SOUND_TARGET", _MAC, 6),
        _f("NUM_SOUNDS", _U8),
        _f("Time_Out", _U8),
        _f("RESP_TYPE", _U8),
        _f("FORWARDING_STA", _MAC, 6),
        *_APP_SEC,
        _f("RunID", _HEX, RUN_ID_LENGTH),
    ),
    CM_START_ATTEN_CHAR | MMTYPE_IND: (
        *_APP_SEC,
        _f("NUM_SOUNDS", _U8),
        _f("Time_Out", _U8),
        _f("RESP_TYPE", _U8),
        _f("FORWARDING_STA", _MAC, 6),
        _f("RunID", _HEX, RUN_ID_LENGTH),
    ),
    CM_MNBC_SOUND | MMTYPE_IND: (
        *_APP_SEC,
        _f("SenderID", _HEX, STATION_ID_LENGTH),
        _f("CNT", _U8),
        _f("RunID", _HEX, RUN_ID_LENGTH),
        _f("RSVD", _HEX, 8),
        _f("RND", _HEX, RANDOM_LENGTH),
    ),
    CM_ATTEN_PROFILE | MMTYPE_IND: (
        _f("PEV_MAC", _MAC, 6),
        _f("NumGroups", _U8),
        _f("RSVD", _U8),
        _f("AAG", _COUNTED_U8_LIST, count_field="NumGroups"),
    ),
    CM_ATTEN_CHAR | MMTYPE_IND: (
        *_APP_SEC,
        _f("SOURCE_ADDRESS", _MAC, 6),
        _f("RunID", _HEX, RUN_ID_LENGTH),
        _f("SOURCE_ID", _HEX, STATION_ID_LENGTH),
        _f("RESP_ID", _HEX, STATION_ID_LENGTH),
        _f("NUM_SOUNDS", _U8),
        _f("NumGroups", _U8),
        _f("AAG", _COUNTED_U8_LIST, count_field="NumGroups"),
    ),
    CM_ATTEN_CHAR | MMTYPE_RSP: (
        *_APP_SEC,
        _f("SOURCE_ADDRESS", _MAC, 6),
        _f("RunID", _HEX, RUN_ID_LENGTH),
        _f("SOURCE_ID", _HEX, STATION_ID_LENGTH),
        _f("RESP_ID", _HEX, STATION_ID_LENGTH),
        _f("Result", _U8),
    ),
    CM_VALIDATE | MMTYPE_REQ: (_f("SignalType", _U8), _f("Timer", _U8), _f("Result", _U8)),
    CM_VALIDATE | MMTYPE_CNF: (_f("SignalType", _U8), _f("ToggleNum", _U8), _f("Result", _U8)),
    CM_SLAC_MATCH | MMTYPE_REQ: _MATCH_COMMON,
    CM_SLAC_MATCH | MMTYPE_CNF: (
        *_MATCH_COMMON,
        _f("NID", _HEX, NID_LENGTH),
        _f("RSVD2", _U8),
        _f("NMK", _HEX, NMK_LENGTH),
    ),
    CM_SET_KEY | MMTYPE_REQ: (
        _f("KeyType", _U8),
        _f("MyNonce", _HEX, 4),
        _f("YourNonce", _HEX, 4),
        _f("PID", _U8),
        _f("PRN", _HEX, 2),
        _f("PMN", _U8),
        _f("CCoCapability", _U8),
        _f("NID", _HEX, NID_LENGTH),
        _f("NewEKS", _U8),
        _f("NewKey", _HEX, NMK_LENGTH),
    ),
    CM_SET_KEY | MMTYPE_CNF: (
        _f("Result", _U8),
        _f("MyNonce", _HEX, 4),
        _f("YourNonce", _HEX, 4),
        _f("PID", _U8),
        _f("PRN", _HEX, 2),
        _f("PMN", _U8),
        _f("CCoCapability", _U8),
    ),
    CM_AMP_MAP | MMTYPE_REQ: (_f("AMLEN", _U16LE, 2), _f("AMDATA", _NIBBLES, count_field="AMLEN")),
    CM_AMP_MAP | MMTYPE_CNF: (_f("ResType", _U8),),
}

SLAC_MMTYPES = frozenset(LAYOUTS)


def mme_type(frame: bytes) -> int | None:
    """The MMTYPE of a HomePlug AV management frame, or None if the frame is not one."""
    try:
        _, _, _, offset = _parse_ethernet(frame)
    except HomePlugDecodeError:
        return None
    if len(frame) < offset + 3:
        return None
    return int.from_bytes(frame[offset + 1 : offset + 3], "little")


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _parse_ethernet(frame: bytes) -> tuple[str, str, int | None, int]:
    """(dst, src, vlan, offset of the MME header); checks the ethertype."""
    if len(frame) < ETHERNET_HEADER_LENGTH:
        raise HomePlugDecodeError(len(frame), f"truncated Ethernet header: {len(frame)} of 14 bytes")
    dst, src = _mac_text(frame[0:6]), _mac_text(frame[6:12])
    offset, vlan = 12, None
    ethertype = int.from_bytes(frame[offset : offset + 2], "big")
    while ethertype in (ETHERTYPE_VLAN, ETHERTYPE_QINQ):
        if len(frame) < offset + 6:
            raise HomePlugDecodeError(len(frame), "truncated VLAN tag")
        vlan = int.from_bytes(frame[offset + 2 : offset + 4], "big") & 0x0FFF
        offset += 4
        ethertype = int.from_bytes(frame[offset : offset + 2], "big")
    if ethertype != ETHERTYPE_HOMEPLUG_AV:
        raise HomePlugDecodeError(offset, f"ethertype 0x{ethertype:04X} is not HomePlug AV (0x88E1)")
    return dst, src, vlan, offset + 2


def _parse(frame: bytes) -> tuple[SlacMessage, dict[str, tuple[int, int]]]:
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise HomePlugDecodeError(0, f"expected bytes, got {type(frame).__name__}")
    frame = bytes(frame)
    dst, src, vlan, offset = _parse_ethernet(frame)
    if len(frame) < offset + MME_HEADER_LENGTH:
        raise HomePlugDecodeError(len(frame), "truncated HomePlug AV MME header")
    mmv = frame[offset]
    if mmv != MMV_HOMEPLUG_AV_1_1:
        raise HomePlugDecodeError(offset, f"MMV 0x{mmv:02X}: SLAC uses HomePlug AV 1.1 (MMV 0x01)")
    mmtype = int.from_bytes(frame[offset + 1 : offset + 3], "little")
    fmi = frame[offset + 3 : offset + 5]
    if fmi[0] & 0xF0:
        # HomePlug AV 1.1 11.1.5: a non-zero fragment count means the MME continues in other frames;
        # SLAC MMEs are short and are never fragmented.
        raise HomePlugDecodeError(offset + 3, f"fragmented MME (FMI 0x{fmi.hex()}) is not supported")
    layout = LAYOUTS.get(mmtype)
    if layout is None:
        raise HomePlugDecodeError(offset + 1, f"MMTYPE 0x{mmtype:04X} is not a SLAC message")
    name = mmtype_name(mmtype)
    position = offset + MME_HEADER_LENGTH
    fields: dict[str, object] = {}
    spans: dict[str, tuple[int, int]] = {}
    for item in layout:
        if item.kind == _COUNTED_U8_LIST:
            count = fields[item.count_field]
            assert isinstance(count, int)
            length = count
        elif item.kind == _NIBBLES:
            count = fields[item.count_field]
            assert isinstance(count, int)
            length = (count + 1) // 2
        else:
            length = item.length
        end = position + length
        if end > len(frame):
            raise HomePlugDecodeError(
                len(frame), f"{name} truncated in {item.name}: needs {end - len(frame)} more bytes"
            )
        raw = frame[position:end]
        if item.kind == _U8:
            fields[item.name] = raw[0]
        elif item.kind == _U16LE:
            fields[item.name] = int.from_bytes(raw, "little")
        elif item.kind == _MAC:
            fields[item.name] = _mac_text(raw)
        elif item.kind == _COUNTED_U8_LIST:
            fields[item.name] = list(raw)
        else:  # _HEX and _NIBBLES
            fields[item.name] = raw.hex()
        spans[item.name] = (position, length)
        position = end
    return SlacMessage(name, mmtype, src, dst, fields, vlan), spans


def decode_slac(frame: bytes) -> SlacMessage:
    """Decode one Ethernet frame carrying a SLAC-related MME (VLAN tags allowed, padding ignored).

    Raises :class:`HomePlugDecodeError` (and nothing else) for anything that is not one."""
    try:
        return _parse(frame)[0]
    except HomePlugDecodeError:
        raise
    except Exception as exc:  # a decoder bug must still surface as a decode error, never a crash
        raise HomePlugDecodeError(0, f"internal decoder error: {exc!r}") from exc


def field_spans(frame: bytes) -> dict[str, tuple[int, int]]:
    """``{field name: (offset, length)}`` of a valid SLAC frame, for fault injection and annotation."""
    try:
        return _parse(frame)[1]
    except HomePlugDecodeError:
        raise
    except Exception as exc:
        raise HomePlugDecodeError(0, f"internal decoder error: {exc!r}") from exc


def replace_field(frame: bytes, name: str, value: bytes) -> bytes:
    """``frame`` with field ``name`` overwritten by ``value`` (same length): a tester's corruption tool."""
    spans = field_spans(frame)
    if name not in spans:
        raise KeyError(f"{decode_slac(frame).name} has no field {name!r}")
    offset, length = spans[name]
    if len(value) != length:
        raise ValueError(f"field {name} is {length} bytes, got {len(value)}")
    return frame[:offset] + bytes(value) + frame[offset + length :]


def is_slac_frame(frame: bytes) -> bool:
    """True if ``frame`` is a HomePlug AV frame whose MMTYPE is one decode_slac knows."""
    try:
        _dst, _src, _vlan, offset = _parse_ethernet(bytes(frame))
    except HomePlugDecodeError:
        return False
    if len(frame) < offset + 3:
        return False
    return int.from_bytes(frame[offset + 1 : offset + 3], "little") in SLAC_MMTYPES


def average_attenuation(aag: Sequence[int]) -> float:
    """Mean of the per-group attenuations (dB): what an EV compares across EVSEs (ISO 15118-3 9.4)."""
    return sum(aag) / len(aag) if aag else float("inf")


# --------------------------------------------------------------------------------------------------
# Encoding: complete Ethernet frames padded to 60 bytes
# --------------------------------------------------------------------------------------------------


def _frame(src: str, dst: str, mmtype: int, payload: Packet, *, vlan: int | None = None) -> bytes:
    header = Ether(src=src, dst=dst)
    if vlan is not None:
        header = header / Dot1Q(vlan=vlan)
    packet = header / HomePlugAV(version=MMV_HOMEPLUG_AV_1_1, HPtype=mmtype) / payload
    raw = bytes(packet)
    # ISO 15118-3 A.2 / IEEE 802.3: pad short frames with zeros to the 60-byte minimum (the MAC adds FCS).
    minimum = MIN_FRAME_LENGTH + (4 if vlan is not None else 0)
    return raw + b"\x00" * max(0, minimum - len(raw))


def _check_length(name: str, value: bytes, length: int) -> bytes:
    if len(value) != length:
        raise ValueError(f"{name} must be {length} bytes, got {len(value)}")
    return bytes(value)


def _station_id(value: bytes) -> bytes:
    return _check_length("station id", value, STATION_ID_LENGTH)


def encode_slac_parm_req(
    src: str,
    run_id: bytes,
    *,
    dst: str = BROADCAST_MAC,
    application_type: int = APPLICATION_TYPE_PEV_EVSE,
    security_type: int = SECURITY_TYPE_NONE,
) -> bytes:
    """EV -> all EVSEs (broadcast): start of matching, ISO 15118-3 A.9.2.2."""
    payload = CM_SLAC_PARM_REQ(
        ApplicationType=application_type,
        SecurityType=security_type,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
    )
    return _frame(src, dst, CM_SLAC_PARM | MMTYPE_REQ, payload)


def encode_slac_parm_cnf(
    src: str,
    dst: str,
    run_id: bytes,
    *,
    num_sounds: int,
    time_out: int,
    forwarding_sta: str | None = None,
    m_sound_target: str = BROADCAST_MAC,
    resp_type: int = RESP_TYPE_OTHER_GP_STA,
    application_type: int = APPLICATION_TYPE_PEV_EVSE,
    security_type: int = SECURITY_TYPE_NONE,
) -> bytes:
    """EVSE -> EV: the sounding parameters of ISO 15118-3 Table A.2; FORWARDING_STA defaults to the EV."""
    payload = CM_SLAC_PARM_CNF(
        MSoundTargetMAC=m_sound_target,
        NumberMSounds=num_sounds,
        TimeOut=time_out,
        ResponseType=resp_type,
        ForwardingSTA=forwarding_sta or dst,
        ApplicationType=application_type,
        SecurityType=security_type,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
    )
    return _frame(src, dst, CM_SLAC_PARM | MMTYPE_CNF, payload)


def encode_start_atten_char_ind(
    src: str,
    run_id: bytes,
    *,
    num_sounds: int,
    time_out: int,
    forwarding_sta: str | None = None,
    dst: str = BROADCAST_MAC,
    resp_type: int = RESP_TYPE_OTHER_GP_STA,
) -> bytes:
    """EV -> all (broadcast): sounding starts, ISO 15118-3 A.9.2.3; FORWARDING_STA defaults to the EV."""
    payload = CM_START_ATTEN_CHAR_IND(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        NumberOfSounds=num_sounds,
        TimeOut=time_out,
        ResponseType=resp_type,
        ForwardingSTA=forwarding_sta or src,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
    )
    return _frame(src, dst, CM_START_ATTEN_CHAR | MMTYPE_IND, payload)


def encode_mnbc_sound_ind(
    src: str,
    run_id: bytes,
    *,
    countdown: int,
    random: bytes = b"\x00" * RANDOM_LENGTH,
    sender_id: bytes = b"\x00" * STATION_ID_LENGTH,
    dst: str = BROADCAST_MAC,
) -> bytes:
    """EV -> all (broadcast): one M-Sound, ISO 15118-3 A.9.2.4; ``countdown`` = sounds still to come."""
    payload = CM_MNBC_SOUND_IND(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        SenderID=_station_id(sender_id),
        Countdown=countdown,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
        RandomValue=_check_length("RND", random, RANDOM_LENGTH),
    )
    return _frame(src, dst, CM_MNBC_SOUND | MMTYPE_IND, payload)


def encode_atten_profile_ind(
    src: str, pev_mac: str, aag: Sequence[int], *, dst: str = BROADCAST_MAC
) -> bytes:
    """Local modem -> its host: the attenuation of one M-Sound from ``pev_mac`` (modem emulators send it)."""
    payload = CM_ATTEN_PROFILE_IND(PEV_MAC=pev_mac, AAG=[int(v) for v in aag])
    return _frame(src, dst, CM_ATTEN_PROFILE | MMTYPE_IND, payload)


def encode_atten_char_ind(
    src: str,
    dst: str,
    run_id: bytes,
    *,
    aag: Sequence[int],
    num_sounds: int,
    source_address: str | None = None,
    source_id: bytes = b"\x00" * STATION_ID_LENGTH,
    resp_id: bytes = b"\x00" * STATION_ID_LENGTH,
) -> bytes:
    """EVSE -> EV: the averaged attenuation profile (ISO 15118-3 A.9.2.5); SOURCE_ADDRESS = the EV."""
    payload = CM_ATTEN_CHAR_IND(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        SourceAdress=source_address or dst,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
        SourceID=_station_id(source_id),
        ResponseID=_station_id(resp_id),
        NumberOfSounds=num_sounds,
        Groups=[_group(v) for v in aag],
    )
    return _frame(src, dst, CM_ATTEN_CHAR | MMTYPE_IND, payload)


def _group(value: int) -> Packet:
    return HPGP_GROUP(group=int(value))


def encode_atten_char_rsp(
    src: str,
    dst: str,
    run_id: bytes,
    *,
    result: int = ATTEN_CHAR_RESULT_SUCCESS,
    source_address: str | None = None,
    source_id: bytes = b"\x00" * STATION_ID_LENGTH,
    resp_id: bytes = b"\x00" * STATION_ID_LENGTH,
) -> bytes:
    """EV -> EVSE: acknowledges CM_ATTEN_CHAR.IND, ISO 15118-3 A.9.2.5; SOURCE_ADDRESS is the EV's MAC."""
    payload = CM_ATTEN_CHAR_RSP(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        SourceAdress=source_address or src,
        RunID=_check_length("RunID", run_id, RUN_ID_LENGTH),
        SourceID=_station_id(source_id),
        ResponseID=_station_id(resp_id),
        Result=result,
    )
    return _frame(src, dst, CM_ATTEN_CHAR | MMTYPE_RSP, payload)


def encode_validate_req(
    src: str,
    dst: str,
    *,
    timer: int = 0,
    result: int = VALIDATE_RESULT_READY,
    signal_type: int = VALIDATE_SIGNAL_TYPE_PEV_S2_TOGGLES,
) -> bytes:
    """EV -> EVSE: ISO 15118-3 A.9.2.6; first with ``timer=0``, then with the toggle window."""
    payload = CM_VALIDATE_REQ(SignalType=signal_type, Timer=timer, Result=result)
    return _frame(src, dst, CM_VALIDATE | MMTYPE_REQ, payload)


def encode_validate_cnf(
    src: str,
    dst: str,
    *,
    toggle_num: int = 0,
    result: int = VALIDATE_RESULT_READY,
    signal_type: int = VALIDATE_SIGNAL_TYPE_PEV_S2_TOGGLES,
) -> bytes:
    """EVSE -> EV: ISO 15118-3 A.9.2.6."""
    payload = CM_VALIDATE_CNF(SignalType=signal_type, ToggleNum=toggle_num, Result=result)
    return _frame(src, dst, CM_VALIDATE | MMTYPE_CNF, payload)


def _match_fields(
    run_id: bytes, pev_mac: str, evse_mac: str, pev_id: bytes, evse_id: bytes
) -> dict[str, object]:
    return {
        "EVID": _station_id(pev_id),
        "EVMAC": pev_mac,
        "EVSEID": _station_id(evse_id),
        "EVSEMAC": evse_mac,
        "RunID": _check_length("RunID", run_id, RUN_ID_LENGTH),
    }


def encode_slac_match_req(
    src: str,
    dst: str,
    run_id: bytes,
    *,
    pev_mac: str | None = None,
    evse_mac: str | None = None,
    pev_id: bytes = b"\x00" * STATION_ID_LENGTH,
    evse_id: bytes = b"\x00" * STATION_ID_LENGTH,
    mvf_length: int | None = None,
) -> bytes:
    """EV -> chosen EVSE: ISO 15118-3 A.9.2.7; PEV MAC defaults to ``src``, EVSE MAC to ``dst``."""
    variable = SLAC_varfield(**_match_fields(run_id, pev_mac or src, evse_mac or dst, pev_id, evse_id))
    payload = CM_SLAC_MATCH_REQ(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        MatchVariableFieldLen=MATCH_REQ_MVF_LENGTH if mvf_length is None else mvf_length,
        VariableField=variable,
    )
    return _frame(src, dst, CM_SLAC_MATCH | MMTYPE_REQ, payload)


def encode_slac_match_cnf(
    src: str,
    dst: str,
    run_id: bytes,
    *,
    nid: bytes,
    nmk: bytes,
    pev_mac: str | None = None,
    evse_mac: str | None = None,
    pev_id: bytes = b"\x00" * STATION_ID_LENGTH,
    evse_id: bytes = b"\x00" * STATION_ID_LENGTH,
    mvf_length: int | None = None,
) -> bytes:
    """EVSE -> EV: ISO 15118-3 A.9.2.7, the network to join; PEV MAC defaults to ``dst``."""
    variable = SLAC_varfield_cnf(
        **_match_fields(run_id, pev_mac or dst, evse_mac or src, pev_id, evse_id),
        NetworkID=_check_length("NID", nid, NID_LENGTH),
        NMK=_check_length("NMK", nmk, NMK_LENGTH),
    )
    payload = CM_SLAC_MATCH_CNF(
        ApplicationType=APPLICATION_TYPE_PEV_EVSE,
        SecurityType=SECURITY_TYPE_NONE,
        MatchVariableFieldLen=MATCH_CNF_MVF_LENGTH if mvf_length is None else mvf_length,
        VariableField=variable,
    )
    return _frame(src, dst, CM_SLAC_MATCH | MMTYPE_CNF, payload)


def encode_set_key_req(
    src: str,
    nid: bytes,
    nmk: bytes,
    *,
    dst: str = LOCAL_MODEM_MAC,
    my_nonce: int = 0,
    pmn: int = SET_KEY_PMN_FIRST,
    cco_capability: int = 0,
) -> bytes:
    """Host -> its local modem: join network ``nid`` with key ``nmk`` (HomePlug AV 1.1 11.5.4)."""
    payload = CM_SET_KEY_REQ(
        KeyType=KEY_TYPE_NMK,
        MyNonce=my_nonce,
        YourNonce=0,
        PID=SET_KEY_PID_HLE,
        ProtoRunNumber=0,
        ProtoMessNumber=pmn,
        CCoCapability=cco_capability,
        NetworkID=_check_length("NID", nid, NID_LENGTH),
        NewEncKeySelect=SET_KEY_NEW_EKS_NMK,
        NewKey=_check_length("NMK", nmk, NMK_LENGTH),
    )
    return _frame(src, dst, CM_SET_KEY | MMTYPE_REQ, payload)


def encode_set_key_cnf(
    src: str, dst: str, *, result: int = SET_KEY_RESULT_SUCCESS, your_nonce: int = 0
) -> bytes:
    """Local modem -> host: the key was (result 0) or was not accepted."""
    payload = CM_SET_KEY_CNF(
        Result=result,
        MyNonce=0,
        YourNonce=your_nonce,
        PID=SET_KEY_PID_HLE,
        ProtoRunNumber=0,
        ProtoMessNumber=SET_KEY_PMN_LAST,
        CCoCapability=0,
    )
    return _frame(src, dst, CM_SET_KEY | MMTYPE_CNF, payload)


def encode_amp_map_req(src: str, dst: str, amplitudes: Sequence[int]) -> bytes:
    """Amplitude map, one 4-bit value per carrier, low nibble first [unverified nibble order]."""
    if any(not 0 <= a <= 0xF for a in amplitudes):
        raise ValueError("amplitude map entries are 4-bit values (0-15)")
    packed = bytearray((len(amplitudes) + 1) // 2)
    for index, value in enumerate(amplitudes):
        packed[index // 2] |= value << (4 * (index % 2))
    payload = CM_AMP_MAP_REQ(AMLEN=len(amplitudes), AMDATA=bytes(packed))
    return _frame(src, dst, CM_AMP_MAP | MMTYPE_REQ, payload)


def encode_amp_map_cnf(src: str, dst: str, *, result: int = AMP_MAP_RESULT_SUCCESS) -> bytes:
    return _frame(src, dst, CM_AMP_MAP | MMTYPE_CNF, CM_AMP_MAP_CNF(ResType=result))


def decode_amp_map(amdata_hex: str, amlen: int) -> list[int]:
    """The 4-bit entries of a decoded CM_AMP_MAP.REQ (inverse of the packing in encode_amp_map_req)."""
    data = bytes.fromhex(amdata_hex)
    return [(data[i // 2] >> (4 * (i % 2))) & 0xF for i in range(amlen)]


ENCODERS: dict[str, Callable[..., bytes]] = {
    "CM_SLAC_PARM.REQ": encode_slac_parm_req,
    "CM_SLAC_PARM.CNF": encode_slac_parm_cnf,
    "CM_START_ATTEN_CHAR.IND": encode_start_atten_char_ind,
    "CM_MNBC_SOUND.IND": encode_mnbc_sound_ind,
    "CM_ATTEN_PROFILE.IND": encode_atten_profile_ind,
    "CM_ATTEN_CHAR.IND": encode_atten_char_ind,
    "CM_ATTEN_CHAR.RSP": encode_atten_char_rsp,
    "CM_VALIDATE.REQ": encode_validate_req,
    "CM_VALIDATE.CNF": encode_validate_cnf,
    "CM_SLAC_MATCH.REQ": encode_slac_match_req,
    "CM_SLAC_MATCH.CNF": encode_slac_match_cnf,
    "CM_SET_KEY.REQ": encode_set_key_req,
    "CM_SET_KEY.CNF": encode_set_key_cnf,
    "CM_AMP_MAP.REQ": encode_amp_map_req,
    "CM_AMP_MAP.CNF": encode_amp_map_cnf,
}
