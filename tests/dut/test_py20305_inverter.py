"""The EV inverter connector under py20305's client: the connector calls the client makes become the inverter
model's modes, and what it reports back follows them, signed as py20305 expects (W positive = export)."""

from __future__ import annotations

import asyncio

import pytest

from harness.dut import py20305_inverter as connector_module
from harness.dut.py20305_inverter import CTRL_MODES, SUPPORTED_MODE_BITS, EvInverterConnector
from harness.protocol.sep2.der_model import modes_from_bitmap

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(connector_module.time, "time", fake)
    return fake


def _run(coro):  # noqa: ANN001, ANN202 - a coroutine in, its result out
    return asyncio.run(coro)


def test_the_inverter_declares_an_ev_with_the_modes_it_honours(clock: Clock) -> None:
    connector = EvInverterConnector()
    nameplate = _run(connector.fetch_nameplate())
    settings = _run(connector.fetch_configuration())
    assert connector.der_type == 81  # sep.xsd DERType: electric vehicle
    assert nameplate["CtrlModes"] == settings["CtrlModes"] == CTRL_MODES
    assert modes_from_bitmap(CTRL_MODES.to_bytes(4, "big")) == frozenset(SUPPORTED_MODE_BITS)
    assert settings["WMax"] <= nameplate["WMaxRtg"]
    assert settings["GradW"] > 0


def test_fixed_w_discharges_after_the_ramp_and_reports_export_positive(clock: Clock) -> None:
    connector = EvInverterConnector()
    _run(connector.update_fixed_w({"WSetEna": 1, "WSetMod": 0, "WSet": 50.0, "ramp_tms": 1000}))
    clock.now += 30  # past the 10 s ramp
    monitoring = _run(connector.fetch_monitoring())
    rated = connector.inverter.settings.max_discharge_rate_w
    assert monitoring["W"] == pytest.approx(rated / 2)
    _run(connector.update_fixed_w({"WSetEna": 0}))
    clock.now += 30
    assert _run(connector.fetch_monitoring())["W"] == pytest.approx(0.0)


def test_max_lim_w_caps_the_fixed_w_command(clock: Clock) -> None:
    connector = EvInverterConnector()
    _run(connector.update_fixed_w({"WSetEna": 1, "WSet": 100.0}))
    _run(connector.update_p_lim({"p_lim_mode_enable": 1, "p_lim_w": 25.0}))
    clock.now += 60
    cap = connector.inverter.settings.max_w / 4
    assert _run(connector.fetch_monitoring())["W"] == pytest.approx(cap)


def test_disconnect_stops_the_export_at_once(clock: Clock) -> None:
    connector = EvInverterConnector()
    _run(connector.update_fixed_w({"WSetEna": 1, "WSet": 50.0}))
    clock.now += 60
    _run(connector.update_connect({"connected": False}))
    assert _run(connector.fetch_monitoring())["W"] == 0.0
    status = _run(connector.fetch_status())
    assert status["connectStatus"]["value"] == connector_module.CONNECT_STATUS_DISCONNECTED
    _run(connector.update_connect({"connected": True}))
    clock.now += 60
    assert _run(connector.fetch_monitoring())["W"] == pytest.approx(connector.inverter.settings.max_w / 2)


def test_a_fixed_power_factor_injects_reactive_power_while_exporting(clock: Clock) -> None:
    connector = EvInverterConnector()
    _run(connector.update_fixed_w({"WSetEna": 1, "WSet": 50.0}))
    _run(connector.update_const_pf({"inj": {"pf": 0.9, "excitation": False, "mode": 1}, "abs": {"mode": 0}}))
    clock.now += 60
    monitoring = _run(connector.fetch_monitoring())
    assert monitoring["W"] > 0 and monitoring["Var"] > 0
    assert monitoring["W"] / (monitoring["W"] ** 2 + monitoring["Var"] ** 2) ** 0.5 == pytest.approx(
        0.9, abs=1e-3
    )
