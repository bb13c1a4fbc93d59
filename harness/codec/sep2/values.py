"""Code points and small value constructors for IEEE 2030.5 resources.

py20305 models every simple type as a wrapper (``TimeType(value=...)``, ``MRidtype(value=...)``);
these helpers build the ones the VGI flows use so reference devices and testers read like the
standard.  Every code point is a named constant citing where it comes from; those marked
[unverified] come from public summaries rather than the standard's text and are kept in one place so
a lab with the standard can check them.

Pure values: no I/O, no clock (callers pass times in).
"""

from __future__ import annotations

from enum import IntEnum

from py20305.models.sep import sep

# --- bitmaps (hexBinary) -------------------------------------------------------------------------
# IEEE 2030.5 DeviceCategoryType (HexBinary32): one bit per device class (REFERENCE.md section 7).
DEVICE_CATEGORY_BYTES = 4
DEVICE_CATEGORY_EV_BIT = 16  # electric vehicle
DEVICE_CATEGORY_EVSE_BIT = 17  # electric vehicle supply equipment
# IEEE 2030.5 RoleFlagsType (HexBinary16) bits of a UsagePoint / MirrorUsagePoint.
ROLE_FLAGS_BYTES = 2
ROLE_FLAG_IS_MIRROR_BIT = 0
ROLE_FLAG_IS_PREMISES_AGGREGATION_POINT_BIT = 1
ROLE_FLAG_IS_PEV_BIT = 2  # REFERENCE.md section 7: bit 2 = isPEV
ROLE_FLAG_IS_DER_BIT = 3
ROLE_FLAG_IS_REVENUE_QUALITY_BIT = 4
ROLE_FLAG_IS_DC_BIT = 5
ROLE_FLAG_IS_SUBMETER_BIT = 6
# IEEE 2030.5 DERType: REFERENCE.md section 7.
DER_TYPE_ELECTRIC_VEHICLE = 81
DER_TYPE_EVSE = 82
# IEEE 2030.5 mRIDType: 128 bits; the low 32 bits carry the IANA enterprise number of the issuer
# [unverified].  The harness has none and uses 32473, IANA's number for documentation (RFC 5612).
MRID_BYTES = 16
HARNESS_PEN = 32473
# IEEE 2030.5 clause 6.3.4: an LFDI is 160 bits (HexBinary160 in resources).
LFDI_BYTES = 20
# IEEE 2030.5 ServiceKind: 0 = electricity.
SERVICE_KIND_ELECTRICITY = 0
# IEEE 2030.5 Subscription encoding: 0 = application/sep+xml, 1 = application/sep-exi.
SUBSCRIPTION_ENCODING_XML = 0
SUBSCRIPTION_ENCODING_EXI = 1


class EventStatusCode(IntEnum):
    """IEEE 2030.5 EventStatus.currentStatus."""

    SCHEDULED = 0
    ACTIVE = 1
    CANCELLED = 2
    CANCELLED_WITH_RANDOMIZATION = 3
    SUPERSEDED = 4


class RequestStatusCode(IntEnum):
    """IEEE 2030.5 RequestStatus.requestStatus of a FlowReservationRequest."""

    REQUESTED = 0
    CANCELLED = 1


class ResponseStatus(IntEnum):
    """IEEE 2030.5 Response.status (DrResponse, DERControlResponse, PriceResponse, TextResponse): the
    standard's table "Response types by function set". Values as two independent open 2030.5
    implementations list them (1-14, 252 not applicable, 253 invalid, 254 expired); 251 "not supported"
    is the 2023 edition's code where 2018 servers expect 252 (REFERENCE-DER.md section 1)."""

    EVENT_RECEIVED = 1
    EVENT_STARTED = 2
    EVENT_COMPLETED = 3
    OPTED_OUT = 4
    OPTED_IN = 5
    EVENT_CANCELLED = 6
    EVENT_SUPERSEDED = 7
    PARTIAL_OPT_OUT = 8
    PARTIAL_OPT_IN = 9
    COMPLETED_NO_USER_PARTICIPATION = 10
    ACKNOWLEDGED = 11
    NO_DISPLAY = 12
    ABORTED_BY_SERVER = 13
    ABORTED_BY_PROGRAM = 14
    NOT_SUPPORTED = 251
    NOT_APPLICABLE = 252
    INVALID = 253
    EXPIRED = 254


class PowerSource(IntEnum):
    """IEEE 2030.5 PowerSourceType of PowerStatus.currentPowerSource."""

    NONE = 0
    MAINS = 1
    BATTERY = 2
    LOCAL_GENERATION = 3
    EMERGENCY = 4
    UNKNOWN = 5


class NotificationStatus(IntEnum):
    """IEEE 2030.5 Notification.status."""

    DEFAULT = 0
    SUBSCRIPTION_CANCELLED = 1
    RESOURCE_MOVED = 2
    RESOURCE_DEFINITION_CHANGED = 3
    RESOURCE_DELETED = 4


def bitmap(bits: int | list[int] | tuple[int, ...], size: int) -> bytes:
    """A big-endian hexBinary bitmap of ``size`` bytes with the given bit numbers set."""
    numbers = [bits] if isinstance(bits, int) else list(bits)
    value = 0
    for bit in numbers:
        if not 0 <= bit < size * 8:
            raise ValueError(f"bit {bit} does not fit in {size} bytes")
        value |= 1 << bit
    return value.to_bytes(size, "big")


def bits_set(value: bytes) -> frozenset[int]:
    """The bit numbers set in a big-endian hexBinary bitmap."""
    number = int.from_bytes(value, "big")
    return frozenset(bit for bit in range(len(value) * 8) if number >> bit & 1)


def device_category(*bits: int) -> sep.DeviceCategoryType:
    return sep.DeviceCategoryType(value=bitmap(bits, DEVICE_CATEGORY_BYTES))


def role_flags(*bits: int) -> sep.RoleFlagsType:
    return sep.RoleFlagsType(value=bitmap(bits, ROLE_FLAGS_BYTES))


def sep_time(seconds: int) -> sep.TimeType:
    """IEEE 2030.5 TimeType: seconds since the Unix epoch, UTC."""
    return sep.TimeType(value=int(seconds))


def mrid(serial: int, pen: int = HARNESS_PEN) -> sep.MRidtype:
    """A 128-bit mRID: ``serial`` in the upper 96 bits, the issuer's enterprise number below."""
    if not 0 <= serial < 2**96:
        raise ValueError("mRID serial must fit in 96 bits")
    return sep.MRidtype(value=((serial << 32) | pen).to_bytes(MRID_BYTES, "big"))


def lfdi_value(lfdi: str | bytes) -> bytes:
    """An LFDI (40 hex digits, or already 20 bytes) as the raw bytes a HexBinary160 element holds."""
    raw = lfdi if isinstance(lfdi, bytes) else bytes.fromhex(lfdi.strip())
    if len(raw) != LFDI_BYTES:
        raise ValueError(f"an LFDI is {LFDI_BYTES} bytes, not {len(raw)}")
    return raw


def active_power(watts: int, multiplier: int = 0) -> sep.ActivePower:
    """ActivePower = value x 10^multiplier W."""
    return sep.ActivePower(multiplier=sep.PowerOfTenMultiplierType(value=multiplier), value=watts)


def real_energy(watt_hours: int, multiplier: int = 0) -> sep.RealEnergy:
    """RealEnergy = value x 10^multiplier Wh."""
    return sep.RealEnergy(multiplier=sep.PowerOfTenMultiplierType(value=multiplier), value=watt_hours)


def signed_real_energy(watt_hours: int, multiplier: int = 0) -> sep.SignedRealEnergy:
    return sep.SignedRealEnergy(multiplier=sep.PowerOfTenMultiplierType(value=multiplier), value=watt_hours)


def percent(hundredths: int) -> sep.PerCent:
    """IEEE 2030.5 PerCent is in hundredths of a percent (8000 = 80 %)."""
    return sep.PerCent(value=hundredths)


def interval(start: int, duration: int) -> sep.DateTimeInterval:
    return sep.DateTimeInterval(start=sep_time(start), duration=duration)


def event_status(
    code: EventStatusCode, at: int, *, potentially_superseded: bool = False, reason: str | None = None
) -> sep.EventStatus:
    return sep.EventStatus(
        current_status=int(code),
        date_time=sep_time(at),
        potentially_superseded=potentially_superseded,
        reason=reason,
    )


def request_status(code: RequestStatusCode, at: int) -> sep.RequestStatus:
    return sep.RequestStatus(date_time=sep_time(at), request_status=int(code))
