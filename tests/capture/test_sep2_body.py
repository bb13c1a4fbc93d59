"""Reading IEEE 2030.5 bodies in the capture's dict form: repeated children, hexBinary, posted readings."""

from __future__ import annotations

from typing import Any

from capture.sep2_body import UOM_VAR, UOM_WATT, hex_text, items, posted_readings
from capture.timeline import TimelineEvent

MRID = "0A" * 16


def _post(frame: int, root: str, resource: dict[str, Any], method: str = "POST") -> TimelineEvent:
    fields = {"method": method, "path": "/mup/1", "root": root, "resource": resource}
    return TimelineEvent(float(frame), frame, "fe80::2", "fe80::1", "HTTP", f"{method} /mup/1", fields)


def _meter_reading(value: Any, *, uom: int | None = None, multiplier: Any = None, mrid: Any = MRID) -> dict:
    out: dict[str, Any] = {"mRID": mrid, "Reading": {"value": value, "timePeriod": {"start": 100}}}
    if uom is not None:
        out["ReadingType"] = {
            "uom": uom,
            **({} if multiplier is None else {"powerOfTenMultiplier": multiplier}),
        }
    return out


def test_items_and_hex_text_undo_the_dict_form() -> None:
    assert items(None) == [] and items({"a": 1}) == [{"a": 1}] and items([1, 2]) == [1, 2]
    assert hex_text(12, 4) == "0012" and hex_text("ab", 2) == "AB" and hex_text(None, 4) == ""


def test_a_usage_point_declares_the_reading_type_later_readings_use() -> None:
    events = [
        _post(1, "MirrorUsagePoint", {"MirrorMeterReading": [_meter_reading(7, uom=UOM_WATT, multiplier=2)]}),
        # Posted later under the same mRID (once lower-case): the declared type and multiplier apply.
        _post(2, "MirrorMeterReading", _meter_reading(-3, mrid=MRID.lower())),
        # Another mRID without a type of its own is not a reading of W.
        _post(3, "MirrorMeterReading", _meter_reading(5, mrid="0B" * 16)),
    ]
    found = [
        (r.event.frame, r.value, r.reading["timePeriod"]["start"]) for r in posted_readings(events, UOM_WATT)
    ]
    assert found == [(1, 700, 100), (2, -300, 100)]
    assert list(posted_readings(events, UOM_VAR)) == []


def test_reading_sets_lists_and_what_does_not_count() -> None:
    with_set = _meter_reading(1, uom=UOM_VAR, multiplier=-1)
    with_set["MirrorReadingSet"] = [{"Reading": [{"value": 2}, {"value": "x"}]}, "not a set"]
    events = [
        _post(1, "MirrorMeterReadingList", {"MirrorMeterReading": with_set}),
        _post(2, "MirrorMeterReading", _meter_reading(9, uom=UOM_VAR), method="PUT"),  # not a POST
        _post(3, "MirrorMeterReading", _meter_reading(8, uom=UOM_VAR, multiplier="x")),  # multiplier 0
        _post(4, "DERSettings", _meter_reading(6, uom=UOM_VAR)),  # not a metering mirror root
    ]
    assert [(r.event.frame, r.value) for r in posted_readings(events, UOM_VAR)] == [
        (1, 0.1),
        (1, 0.2),
        (3, 8),
    ]
