"""The simulated lab's grid point: its schedule over server time, its body, the site serving it, and
the inverter following (or, with the faults, ignoring) its curves at that point."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from harness.devices.models.inverter import (
    CURVE_FREQ_WATT,
    CURVE_VOLT_VAR,
    Inverter,
    InverterFaults,
    curve_from_data,
)
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.der_grid import (
    GRID_MEDIA_TYPE,
    GRID_PATH,
    GridError,
    GridPoint,
    LabGrid,
    grid_body,
    parse_grid_body,
)
from harness.devices.sep2.der_site import DerSite
from harness.transport.http import HttpRequest

S0 = 1_767_225_600
LAB = b"<LabGridPoint xmlns='urn:vgi:lab:grid'>"
END = b"</LabGridPoint>"


def test_the_grid_is_nominal_until_a_change_then_each_change_from_its_time():
    grid = LabGrid()
    grid.set_from(S0 + 600, voltage_v=250.8)
    grid.set_from(S0 + 300, frequency_hz=60.4)
    assert grid.at(S0) == GridPoint(240.0, 60.0)
    assert grid.at(S0 + 300) == GridPoint(240.0, 60.4)
    # A change keeps what the grid was then for the quantity it leaves alone.
    assert grid.at(S0 + 900) == GridPoint(250.8, 60.0)
    assert [t for t, _ in grid.changes()] == [S0 + 300, S0 + 600]


def test_the_body_round_trips_and_is_not_a_2030_5_resource():
    body = grid_body(GridPoint(250.8, 60.4))
    assert b"urn:ieee:std:2030.5:ns" not in body and b"urn:vgi:lab:grid" in body
    assert parse_grid_body(body) == GridPoint(250.8, 60.4)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<Time xmlns='urn:ieee:std:2030.5:ns'><currentTime>1</currentTime></Time>",
        LAB + b"<voltage>2400</voltage>" + END,
        LAB + b"<voltage>x</voltage><frequency>6000</frequency>" + END,
        LAB + b"<voltage>2400</voltage><frequency>9000</frequency>" + END,
        b"<LabGridPoint><voltage>2400</voltage><frequency>6000</frequency></LabGridPoint>",
    ],
)
def test_what_is_not_a_grid_point_is_refused(body: bytes):
    with pytest.raises(GridError):
        parse_grid_body(body)


def test_the_site_serves_the_point_now_and_refuses_writes():
    clock = SimClock(speedup=0, start=S0)
    site = DerSite(clock)
    site.grid.set_from(S0 + 60, voltage_v=228.0)
    get = HttpRequest("GET", GRID_PATH, ())
    assert site.owns(get, GRID_PATH, 1)
    answer = site.handle(get, GRID_PATH, 1, "AB" * 20)
    assert answer.status == HTTPStatus.OK and answer.header("Content-Type") == GRID_MEDIA_TYPE
    assert parse_grid_body(answer.body) == GridPoint(240.0, 60.0)
    clock.start = S0 + 60
    assert parse_grid_body(site.handle(get, GRID_PATH, 1, "").body).voltage_v == 228.0
    put = HttpRequest("PUT", GRID_PATH, (), grid_body(GridPoint()))
    assert site.handle(put, GRID_PATH, 1, "").status == HTTPStatus.METHOD_NOT_ALLOWED


def _inverter(faults: InverterFaults | None = None) -> Inverter:
    inverter = Inverter(faults=faults or InverterFaults())
    inverter.load_curve("/vv", curve_from_data(CURVE_VOLT_VAR, ((92, 44), (98, 0), (102, 0), (108, -44))))
    inverter.load_curve("/fw", curve_from_data(CURVE_FREQ_WATT, ((5900, 100), (6010, 100), (6060, 0)), -2))
    return inverter


def test_the_inverter_follows_its_curves_at_the_grid_point():
    inverter = _inverter()
    inverter.apply({"opModEnergize": True, "opModVoltVar": "/vv"}, S0)
    assert inverter.reactive_power_var == 0
    inverter.set_grid(S0 + 10, voltage_v=250.8)  # 104.5 %: -18.33 % of 3600 var
    assert inverter.reactive_power_var == pytest.approx(-660.0)
    inverter.apply({"opModEnergize": True, "opModFixedW": 5000, "opModFreqWatt": "/fw"}, S0 + 20)
    inverter.set_grid(S0 + 30, frequency_hz=60.4)  # the curve caps export at 40 % of 7200 W
    assert inverter.commanded_power_w() == pytest.approx(-2880.0)


def test_the_curve_faults_ignore_the_grid():
    inverter = _inverter(InverterFaults(ignores_volt_var=True, ignores_freq_watt=True))
    inverter.apply({"opModEnergize": True, "opModVoltVar": "/vv"}, S0)
    inverter.set_grid(S0 + 10, voltage_v=250.8)
    assert inverter.reactive_power_var == 0
    inverter.apply({"opModEnergize": True, "opModFixedW": 5000, "opModFreqWatt": "/fw"}, S0 + 20)
    inverter.set_grid(S0 + 30, frequency_hz=60.4)
    assert inverter.commanded_power_w() == pytest.approx(-3600.0)
