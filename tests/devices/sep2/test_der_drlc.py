"""DRLC beside DER in the reference EV: which DrResponses are due when, and the import cap."""

from __future__ import annotations

from harness.codec.sep2.values import ResponseStatus
from harness.devices.sep2.der_drlc import DrlcEvent, DrlcSchedule

MRID = "AB" * 16


def _event(*, required: int = 0x03, cancelled: bool = False, duty: int | None = 45) -> DrlcEvent:
    return DrlcEvent(MRID, 1000, 600, duty, cancelled, "/rsps/1/rsp", required)


def test_received_then_started_then_completed_each_once():
    schedule = DrlcSchedule()
    schedule.take([_event()])
    assert [s for _e, s in schedule.due(900)] == [ResponseStatus.EVENT_RECEIVED]
    schedule.answered.add((MRID, int(ResponseStatus.EVENT_RECEIVED)))
    assert schedule.due(900) == []
    assert [s for _e, s in schedule.due(1000)] == [ResponseStatus.EVENT_STARTED]
    schedule.answered.add((MRID, int(ResponseStatus.EVENT_STARTED)))
    assert [s for _e, s in schedule.due(1600)] == [ResponseStatus.EVENT_COMPLETED]


def test_response_required_bits_and_cancellation():
    schedule = DrlcSchedule()
    schedule.take([_event(required=0x00)])
    assert schedule.due(2000) == []
    schedule.take([_event(required=0x02, cancelled=True)])
    assert [s for _e, s in schedule.due(1100)] == [ResponseStatus.EVENT_CANCELLED]


def test_import_cap_only_while_active_and_not_cancelled():
    schedule = DrlcSchedule()
    schedule.take([_event()])
    assert schedule.import_cap_w(999, 7200) is None
    assert schedule.import_cap_w(1000, 7200) == 3240
    assert schedule.import_cap_w(1600, 7200) is None
    schedule.take([_event(cancelled=True)])
    assert schedule.import_cap_w(1100, 7200) is None
    schedule.take([_event(duty=None)])
    assert schedule.import_cap_w(1100, 7200) is None
