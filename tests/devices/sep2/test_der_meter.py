"""The reference EV's meter readings (real and reactive power) and its discharge window request:
schema-valid, signed in the meter convention, and the unsigned-meter fault."""

from __future__ import annotations

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.schema import validate
from harness.devices.sep2.der_meter import FAULT_UNSIGNED, MeterCounters, mirror_readings, period_readings
from harness.devices.sep2.der_reservation import OFFER_DURATION_S, OFFER_LEAD_S, DischargeWindow

S0 = 1_767_225_600


def test_readings_are_the_periods_averages_signed_and_schema_valid():
    then = MeterCounters(S0, 0.0, 0.0, 0.0)
    # 30 s exporting 3600 W (30 Wh) while injecting 1744 var.
    now = MeterCounters(S0 + 30, 0.0, 30.0, 30 * 1744.0)
    real, reactive, volts, hertz = period_readings(then, now, 7)
    assert real.reading.value == -3600 and reactive.reading.value == -1744
    for reading in (real, reactive, volts, hertz):
        assert validate(r.serialise(reading)) == []
    (unsigned, *_) = period_readings(then, now, 7, frozenset({FAULT_UNSIGNED}))
    assert unsigned.reading.value == 3600


def test_the_mirror_usage_point_declares_both_reading_types_and_is_schema_valid():
    declared = mirror_readings()
    assert [m.reading_type.uom.value for m in declared] == [38, 63, 29, 33]
    mup = r.MirrorUsagePoint(
        m_rid=v.mrid(1),
        description="EV inverter power (import +)",
        role_flags=v.role_flags(v.ROLE_FLAG_IS_MIRROR_BIT),
        service_category_kind=r.sep.ServiceKind(value=0),
        status=1,
        device_lfdi=v.lfdi_value("AB" * 20),
        mirror_meter_reading=declared,
    )
    assert validate(r.serialise(mup)) == []


def test_the_discharge_window_request_is_signed_negative_and_dispatches_only_when_granted():
    window = DischargeWindow()
    request = window.request(S0, exportable_wh=100_000.0)
    assert validate(r.serialise(request)) == []
    assert request.power_requested.value < 0 and request.energy_requested.value < 0
    assert window.dispatch_w(S0 + OFFER_LEAD_S) is None  # not granted yet
    grant = r.FlowReservationResponse(
        m_rid=v.mrid(2),
        creation_time=v.sep_time(S0),
        event_status=v.event_status(v.EventStatusCode.SCHEDULED, S0),
        interval=request.interval_requested,
        energy_available=request.energy_requested,
        power_available=request.power_requested,
        subject=request.m_rid,
    )
    assert window.take(grant)
    start = S0 + OFFER_LEAD_S
    assert window.dispatch_w(start - 1) is None
    assert window.dispatch_w(start) == -request.power_requested.value
    assert window.dispatch_w(start + OFFER_DURATION_S) is None
    window.ignores_window = True
    assert window.dispatch_w(start - 1) == -request.power_requested.value


def test_grid_readings_report_the_point_held_through_the_period():
    # The EV sampled 250.8 V / 60.40 Hz at the period's start (harness.devices.sep2.der_grid).
    then = MeterCounters(S0, 0.0, 0.0, 0.0, 250.8, 60.4)
    now = MeterCounters(S0 + 30, 0.0, 0.0, 0.0, 228.0, 60.5)
    _, _, volts, hertz = period_readings(then, now, 3)
    assert (volts.reading_type.uom.value, volts.reading_type.power_of_ten_multiplier.value) == (29, -1)
    assert (hertz.reading_type.uom.value, hertz.reading_type.power_of_ten_multiplier.value) == (33, -2)
    assert volts.reading.value == 2508 and hertz.reading.value == 6040
