"""Reading the IEEE 2030.5 bodies of HTTP timeline events (capture/tls_http.py ``_as_dict``): repeated
children, hexBinary values, and the MirrorMeterReadings a client posts.

The DER judges (harness/verdict/der_timeline.py, der_curves.py) and the DER plot (reports/plots_der.py)
read the same bodies; what the dict form means is said here once.  ``fields["resource"]`` is the body
as a dict (names without namespace); an element given once is its value, given several times a list;
text of digits only becomes an int.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent

HTTP = "HTTP"
# IEEE 2030.5 UomType 38: W, 63: var (the reading types of an inverter's real and reactive power,
# README AC DER "Readings").
UOM_WATT = 38
UOM_VAR = 63
# The roots a client posts MirrorMeterReadings in (IEEE 2030.5 metering mirror function set).
MIRROR_USAGE_POINT = "MirrorUsagePoint"
MIRROR_METER_READING = "MirrorMeterReading"
MIRROR_METER_READING_LIST = "MirrorMeterReadingList"
# mRID is hexBinary128: 32 hex digits.
MRID_DIGITS = 32


def items(value: Any) -> list[Any]:
    """A repeated child as a list (the capture gives one child as itself, several as a list)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def hex_text(value: Any, digits: int) -> str:
    """A hexBinary value as upper-case text (the capture turns an all-digit one into an int)."""
    return str(value).upper().zfill(digits) if value is not None else ""


@dataclass(frozen=True, slots=True)
class PostedReading:
    """One Reading of a posted MirrorMeterReading: the POST it came in, the Reading's dict, and its value
    scaled by the ReadingType's powerOfTenMultiplier (in the unit of the ReadingType's uom)."""

    event: TimelineEvent
    reading: dict[str, Any]
    value: float


def _meter_readings(event: TimelineEvent) -> list[Any]:
    resource = event.fields.get("resource")
    if not isinstance(resource, dict):
        return []
    root = event.fields.get("root")
    if root == MIRROR_METER_READING:
        return [resource]
    if root in (MIRROR_USAGE_POINT, MIRROR_METER_READING_LIST):
        return items(resource.get(MIRROR_METER_READING))
    return []


def _readings(meter_reading: dict[str, Any]) -> Iterator[Any]:
    yield from items(meter_reading.get("Reading"))
    for reading_set in items(meter_reading.get("MirrorReadingSet")):
        if isinstance(reading_set, dict):
            yield from items(reading_set.get("Reading"))


def _multiplier(reading_type: Any, uom: int) -> int | None:
    """The powerOfTenMultiplier of a ReadingType of ``uom`` (0 when absent); None for another uom."""
    if isinstance(reading_type, dict) and reading_type.get("uom") == uom:
        multiplier = reading_type.get("powerOfTenMultiplier")
        return multiplier if isinstance(multiplier, int) else 0
    return None


def posted_readings(events: Iterable[TimelineEvent], uom: int) -> Iterator[PostedReading]:
    """The Readings of ``uom`` in the MirrorMeterReadings POSTed in ``events``, in capture order.

    A MirrorMeterReading counts when its own ReadingType, or one posted before for the same mRID (in a
    MirrorUsagePoint or an earlier MirrorMeterReading), has that uom; a Reading counts when its value
    is an integer (sep.xsd Reading.value, Int48), directly or in a MirrorReadingSet.  Which sender's
    POSTs count is the caller's choice: pass only those events."""
    declared: dict[str, int] = {}
    for event in events:
        if event.protocol != HTTP or event.error or event.fields.get("method") != "POST":
            continue
        for meter_reading in _meter_readings(event):
            if not isinstance(meter_reading, dict):
                continue
            mrid = hex_text(meter_reading.get("mRID"), MRID_DIGITS)
            multiplier = _multiplier(meter_reading.get("ReadingType"), uom)
            if multiplier is not None:
                declared[mrid] = multiplier
            scale = declared.get(mrid)
            if scale is None:
                continue
            for reading in _readings(meter_reading):
                if isinstance(reading, dict) and isinstance(reading.get("value"), int):
                    yield PostedReading(event, reading, reading["value"] * 10**scale)
