"""The reference EV DER client against the real DER server side (Sep2Server + DerSite over TLS on
loopback), on a fast lab clock: what it PUTs, posts and reads, and how each sim fault changes it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.schema import validate
from harness.devices.sep2.common import SimClock, identity, server_tls
from harness.devices.sep2.der_client import (
    COMM_LOSS_POLLS,
    USER_OPT_OUT_MARKER,
    EvDer,
    SimTimeCore,
    ev_der,
    serve_ev_der,
)
from harness.devices.sep2.der_meter import POWER_READING_SERIAL, REACTIVE_READING_SERIAL
from harness.devices.sep2.der_reservation import OFFER_MARKER, OFFER_POWER_W
from harness.devices.sep2.der_site import DerSite
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.settings import DeviceSettings
from harness.pki.hierarchy import init_pki
from harness.protocol.core import TimedCore
from harness.protocol.sep2.der_events import DerSnapshot, EventState
from harness.protocol.sep2.der_model import (
    DerControl,
    DerControlResponse,
    DerProgram,
    ResponseStatus,
    modes_from_bitmap,
)
from harness.transport.http import Sep2HttpServer
from harness.transport.link import Link

# A faster lab clock than the scenarios' 120x, so each run takes a few wall seconds: 1 s = 10 minutes.
SPEEDUP = 600.0
# Bounds on waiting for what the EV must do (wall seconds); the waits end as soon as it is done.
WAIT_S = 8.0
STEP_S = 0.02
CANCEL_RETRY_S = 0.5
LOOPBACK = Link("loopback", "lo", "::1")
# Server seconds after which a newly published control starts, and how long it lasts.
LEAD_S = 300
EVENT_S = 600
# The DRLC event of the DRLC tests (server seconds).
DRLC_S = 1800
# setGradW 10 %/s of 7.2 kW: a full swing takes 10 s; readings this far from an edge are settled.
SETTLE_S = 15


@pytest.fixture(scope="module")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("der") / "pki"
    init_pki(directory, ("pfe-server", "ev"))
    return directory


@pytest.fixture
def settings(lab_pki: Path) -> DeviceSettings:
    return DeviceSettings(certificates=MappingProxyType({"sep2_pki": lab_pki}), sep2_clock_speedup=SPEEDUP)


Scenario = Callable[[DerSite, EvDer], Awaitable[None]]
# How often the loop-lag probe wakes (wall seconds).
LAG_PROBE_S = 0.01


class LoopLag:
    """The longest the event loop was late to wake a task during a run (wall seconds): what a loaded
    machine added to every timer of the EV on this fast clock, measured rather than guessed."""

    worst_s: float = 0.0

    @classmethod
    async def watch(cls) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            cls.worst_s = max(cls.worst_s, loop.time() - before - LAG_PROBE_S)

    @classmethod
    def server_s(cls) -> float:
        """The worst lag of the last run in server seconds."""
        return cls.worst_s * SPEEDUP


def _run(
    settings: DeviceSettings,
    scenario: Scenario,
    faults: frozenset[str] = frozenset(),
    servers: list[Sep2Server] | None = None,
    **site: Any,
):
    """Serve a DerSite, run the EV against it while ``scenario`` plays; the site and the EV after.
    ``servers`` (if given) receives the Sep2Server the site is mounted on (DRLC events, reservations)."""

    async def main() -> tuple[DerSite, EvDer]:
        clock = SimClock(speedup=SPEEDUP)
        der_site = DerSite(clock, **site)
        lfdi = identity("ev", settings).lfdi
        server = Sep2Server(clock, {lfdi: "ev"}, der=der_site)
        if servers is not None:
            servers.append(server)
        LoopLag.worst_s = 0.0
        lag = asyncio.create_task(LoopLag.watch())
        async with Sep2HttpServer(server.handle, server_tls("pfe-server", settings)) as http:
            url = f"https://127.0.0.1:{http.port}/dcap"
            ev_settings = replace(settings, addresses=MappingProxyType({"sep2_server": url}))
            der = ev_der(ev_settings, faults)
            task = asyncio.create_task(serve_ev_der(der, LOOPBACK, ev_settings))
            try:
                await scenario(der_site, der)
            finally:
                lag.cancel()
                # Python 3.11's asyncio.wait_for can swallow a cancellation (see Sep2HttpServer.close):
                # cancel until the device has really stopped.
                while not task.done():
                    task.cancel()
                    await asyncio.wait({task}, timeout=CANCEL_RETRY_S)
            return der_site, der

    return asyncio.run(main())


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / STEP_S)):
        if condition():
            return
        await asyncio.sleep(STEP_S)
    pytest.fail(f"timed out waiting for {what}")


def _statuses(site: DerSite, mrid: str) -> list[int]:
    return [
        int(item.resource.status)
        for item in site.responses
        if item.resource.subject.value.hex().upper() == mrid
    ]


def _readings(site: DerSite, serial: int = POWER_READING_SERIAL) -> list[tuple[int, int, int]]:
    """(start, end, average) of each MirrorMeterReading the EV posted of real power (W), or of the
    reading whose mRID serial is ``serial`` (REACTIVE_READING_SERIAL: var)."""
    out = []
    for item in site.readings:
        if getattr(item.resource, "m_rid", None) != v.mrid(serial):
            continue
        reading = getattr(item.resource, "reading", None)
        if reading is not None and reading.time_period is not None:
            start = reading.time_period.start.value
            out.append((start, start + reading.time_period.duration, reading.value))
    return out


def _inside(site: DerSite, start: float, end: float) -> list[int]:
    return [w for a, b, w in _readings(site) if a >= start + SETTLE_S and b <= end]


def _when(der: EvDer, mrid: str, state: EventState) -> float:
    """When the EV's engine took ``mrid`` into ``state`` (server time): the EV's own schedule, which a
    loaded machine may run a little late on this fast clock."""
    return next(t.at for t in der.engine.transitions if t.control == mrid and t.state == state)


def _acted(der: EvDer, scheduled: float) -> float:
    """When the EV's inverter first changed its target at or after ``scheduled`` (server time): when it
    acted on something due then, by its own record; a loaded machine may run it late on this fast
    clock.  ``scheduled`` itself if it never did (a fault that ignores it)."""
    return next((t for t, _w in der.inverter.changes if t >= scheduled), scheduled)


async def _reading_from(site: DerSite, start: float) -> None:
    await _until(lambda: any(a >= start for a, _b, _w in _readings(site)), f"a reading from {start:g}")


def _outside_before(site: DerSite, start: int) -> list[int]:
    return [w for _a, b, w in _readings(site) if b <= start]


async def _authorized(site: DerSite, der: EvDer) -> None:
    await _until(lambda: site.authorized(der.lfdi), "J3072 authorization")
    await _until(lambda: der.inverter.authorized, "the EV to see opModEnergize true")


async def _discharge(site: DerSite, modes: dict[str, Any], **kwargs: Any) -> tuple[str, int, int]:
    program = site.add_program(1, "utility V2G")
    start = site.now() + LEAD_S
    duration = kwargs.pop("duration", EVENT_S)
    mrid = site.publish(program, start=start, duration=duration, modes=modes, **kwargs)
    return mrid, start, start + duration


def test_sim_time_core_maps_wall_deadlines_onto_the_simulated_clock() -> None:
    clock = SimClock(start=1000, speedup=100.0, origin=50.0)

    class Alarm(TimedCore):
        def handle(self, event: Any, now: float) -> list[Any]:
            return [self.timers.start("t", now + 500.0)]

    scaled = SimTimeCore(Alarm(), clock)
    assert scaled.handle(object(), 51.0) == [scaled.core.timers.start("t", 1600.0)]  # 1 wall s = 100 sim s
    assert scaled.next_deadline() == pytest.approx(56.0)
    assert scaled.due_timers(55.9) == [] and scaled.due_timers(56.0) == ["t"]


def test_scheduled_discharge_posts_received_started_completed_and_reads_export(
    settings: DeviceSettings,
) -> None:
    event: dict[str, Any] = {}

    async def scenario(site: DerSite, der: EvDer) -> None:
        await _authorized(site, der)
        mrid, start, end = await _discharge(site, {"opModFixedW": 5000})
        event.update(mrid=mrid, start=start, end=end)
        await _until(lambda: 3 in _statuses(site, mrid), "the completed response")
        await _until(lambda: der.engine.state_of(mrid) == EventState.COMPLETED, "the event's end")
        await _reading_from(site, _when(der, mrid, EventState.COMPLETED) + SETTLE_S)

    site, der = _run(settings, scenario)
    assert _statuses(site, event["mrid"]) == [1, 2, 3]
    # README AC DER: dercap, derg, ders, dera in that order first.
    assert [item.path.rsplit("/", 1)[-1] for item in site.puts[:4]] == ["dercap", "derg", "ders", "dera"]
    began, ended = (
        _when(der, event["mrid"], EventState.ACTIVE),
        _when(der, event["mrid"], EventState.COMPLETED),
    )
    # On time, give or take a poll period and what the loaded machine measurably delayed the loop by.
    slack = site.poll_rate + LoopLag.server_s()
    assert event["start"] <= began < event["start"] + slack
    assert ended - began == pytest.approx(EVENT_S, abs=slack)
    during = _inside(site, _acted(der, began), ended)
    assert during and all(w == pytest.approx(-3600, abs=50) for w in during)  # 50 % of 7.2 kW, exported
    # Nothing exported before the scheduled start (the EV's own ACTIVE record may trail its inverter).
    before = _outside_before(site, event["start"])
    assert before and all(w == 0 for w in before)
    after = [w for a, _b, w in _readings(site) if a >= ended + SETTLE_S]
    assert after and all(w == 0 for w in after)
    assert der.inverter.soc < 60.0


def _event(
    settings: DeviceSettings,
    modes: dict[str, Any],
    faults: frozenset[str] = frozenset(),
    *,
    authorize: bool = True,
    site_options: dict[str, Any] | None = None,
    **publish: Any,
) -> tuple[DerSite, EvDer, str, list[int], list[int]]:
    """One discharge event run to its end: the site, the EV, the control's mRID and the average
    powers read before its scheduled start and while it was in effect (the EV's own schedule)."""
    seen: dict[str, Any] = {}

    async def scenario(site: DerSite, der: EvDer) -> None:
        if authorize:
            await _authorized(site, der)
        else:
            await _until(lambda: site.decision(der.lfdi) is not None, "a J3072 decision")
            await _until(lambda: bool(site.text_responses), "the refusal acknowledged")
        mrid, start, _end = await _discharge(site, modes, **publish)
        seen.update(mrid=mrid, start=start)
        await _until(lambda: der.engine.state_of(mrid) == EventState.COMPLETED, "the event's end")
        ended = _when(der, mrid, EventState.COMPLETED)
        await _until(lambda: any(b >= ended for _a, b, _w in _readings(site)), "a reading of the end")

    site, der = _run(settings, scenario, faults, **(site_options or {}))
    mrid = seen["mrid"]
    began, ended = _when(der, mrid, EventState.ACTIVE), _when(der, mrid, EventState.COMPLETED)
    before = _outside_before(site, seen["start"])
    return site, der, mrid, before, _inside(site, _acted(der, began), ended)


def test_max_lim_w_caps_the_export_and_the_fault_ignores_it(settings: DeviceSettings) -> None:
    modes = {"opModFixedW": 10_000, "opModMaxLimW": 3000}
    *_, good = _event(settings, modes)
    assert good and all(w == pytest.approx(-2160, abs=50) for w in good)  # 30 % of setMaxW
    *_, bad = _event(settings, modes, frozenset({"der-ev-ignores-maxlimw"}))
    assert bad and all(w == pytest.approx(-7200, abs=50) for w in bad)


def test_fixed_pf_meters_reactive_power_and_the_fault_ignores_it(settings: DeviceSettings) -> None:
    modes = {
        "opModFixedW": 5000,
        "opModFixedPFInjectW": (("displacement", 90), ("excitation", False), ("multiplier", -2)),
    }
    site, der, mrid, *_ = _event(settings, modes)
    began, ended = _when(der, mrid, EventState.ACTIVE), _when(der, mrid, EventState.COMPLETED)
    reactive = _readings(site, REACTIVE_READING_SERIAL)
    injected = [q for a, b, q in reactive if a >= _acted(der, began) + SETTLE_S and b <= ended]
    # 3600 W at cos phi 0.90 over-excited: 3600 * tan(acos 0.9) = 1744 var injected, negative in the meter.
    assert injected and all(q == pytest.approx(-1744, abs=30) for q in injected)
    site, *_ = _event(settings, modes, frozenset({"der-ev-ignores-fixedpf"}))
    reactive = _readings(site, REACTIVE_READING_SERIAL)
    assert reactive and all(q == 0 for *_, q in reactive)


def test_meter_unsigned_fault_reads_export_as_positive(settings: DeviceSettings) -> None:
    *_, during = _event(settings, {"opModFixedW": 5000}, frozenset({"der-ev-meter-unsigned"}))
    assert during and all(w == pytest.approx(3600, abs=50) for w in during)


def _drlc_run(settings: DeviceSettings, faults: frozenset[str] = frozenset()) -> tuple[list[int], list[int]]:
    """Full charge under a DER control with a 45 % DRLC event in its middle: the DrResponse statuses
    and the settled import readings inside the event (W)."""
    servers: list[Sep2Server] = []
    seen: dict[str, int] = {}

    async def scenario(site: DerSite, der: EvDer) -> None:
        await _authorized(site, der)
        # Half an hour of DRLC (3 wall seconds): long enough that a loaded machine's late poll still
        # leaves settled readings inside it.
        _mrid, start, _end = await _discharge(site, {"opModFixedW": -10_000}, duration=DRLC_S + 900)
        seen.update(start=start + 300, end=start + 300 + DRLC_S)
        servers[0].add_dr_event(start + 300, DRLC_S, 45)
        await _reading_from(site, seen["end"])

    site, der = _run(settings, scenario, faults, servers)
    statuses = [int(res.status) for _lfdi, path, res in servers[0].posted if path == "/rsps/1/rsp"]
    # The EV learns the event on a poll and ramps from when it applies the cap.
    settled = _acted(der, seen["start"]) + SETTLE_S
    return statuses, [w for a, b, w in _readings(site) if a >= settled and b <= seen["end"]]


def test_drlc_event_is_answered_and_caps_the_import(settings: DeviceSettings) -> None:
    statuses, inside = _drlc_run(settings)
    assert 1 in statuses and 2 in statuses
    assert inside and all(w == pytest.approx(3240, abs=60) for w in inside)  # 45 % of 7.2 kW
    statuses, inside = _drlc_run(settings, frozenset({"der-ev-ignores-drlc"}))
    assert 1 in statuses
    assert inside and all(w == pytest.approx(7200, abs=60) for w in inside)


def _window_run(settings: DeviceSettings, faults: frozenset[str] = frozenset()) -> tuple[EvDer, list]:
    async def scenario(site: DerSite, der: EvDer) -> None:
        site.add_program(1, f"utility V2G {OFFER_MARKER}")
        await _authorized(site, der)
        await _until(lambda: der.window.end is not None, "the granted window")
        end = der.window.end or 0
        if der.window.ignores_window:  # the fault goes on past the end: nothing to wait for there
            await _reading_from(site, end)
            return
        await _until(lambda: any(t >= end for t, _w in der.inverter.changes), "the window's end")
        await _reading_from(site, _acted(der, end) + SETTLE_S)

    site, der = _run(settings, scenario, faults)
    return der, _readings(site)


def test_discharge_window_is_asked_for_and_kept(settings: DeviceSettings) -> None:
    der, readings = _window_run(settings)
    start, end = der.window.start or 0, der.window.end or 0
    began, ended = _acted(der, start), _acted(der, end)
    inside = [w for a, b, w in readings if a >= began + SETTLE_S and b <= end]
    outside = [w for a, b, w in readings if b <= start or a >= ended + SETTLE_S]
    assert inside and all(w == pytest.approx(-OFFER_POWER_W, abs=60) for w in inside)
    assert outside and all(w == 0 for w in outside)
    der, readings = _window_run(settings, frozenset({"der-ev-ignores-window"}))
    early = [w for a, b, w in readings if b <= (der.window.start or 0) and w < 0]
    assert early  # exports before the granted window


def test_refused_authorization_no_export_message_acknowledged(settings: DeviceSettings) -> None:
    # A 3 kW site: the EV's 7.2 kW setMaxDischargeRateW is refused (J3072 harness rule).
    refused: dict[str, Any] = {"authorize": False, "site_options": {"site_max_export_w": 3000}}
    modes = {"opModFixedW": 5000}
    site, der, _mrid, before, during = _event(settings, modes, **refused)
    assert not site.authorized(der.lfdi)
    assert before and during and all(w == 0 for w in before + during)
    (ack,) = site.text_responses
    assert ack.resource.status == 1
    assert site.messages[0].text.startswith("J3072 authorization refused: ")
    # The faults: exports at full power before authorization / exports as commanded despite energize.
    *_, before, during = _event(settings, modes, frozenset({"der-ev-exports-unauthorized"}), **refused)
    assert before[1:] and all(w == pytest.approx(-7200, abs=50) for w in before[1:])  # after its ramp
    *_, before, during = _event(settings, modes, frozenset({"der-ev-ignores-energize"}), **refused)
    assert all(w == 0 for w in before) and during and all(w == pytest.approx(-3600, abs=50) for w in during)


def test_no_responses_fault_posts_none(settings: DeviceSettings) -> None:
    site, der, *_ = _event(settings, {"opModFixedW": 5000}, frozenset({"der-ev-no-responses"}))
    assert site.responses == [] and der.inverter.exported_wh > 0


def test_user_opt_out_marker_opts_out_before_the_start(settings: DeviceSettings) -> None:
    site, der, mrid, _before, _during = _event(
        settings, {"opModFixedW": 5000}, response_required=0x07, description=f"V2G {USER_OPT_OUT_MARKER}"
    )
    assert _statuses(site, mrid) == [ResponseStatus.EVENT_RECEIVED, ResponseStatus.OPTED_OUT]
    posted = next(r.at for r in site.responses if int(r.resource.status) == ResponseStatus.OPTED_OUT)
    assert posted < _when(der, mrid, EventState.ACTIVE)
    assert der.inverter.exported_wh == 0


def test_next_drive_opt_out_and_the_below_reserve_fault(settings: DeviceSettings) -> None:
    # 60 % of 60 kWh now, 90 % needed at 07:00: an event running up to departure leaves nothing spare.
    def run(faults: frozenset[str]) -> tuple[DerSite, EvDer, str]:
        seen: dict[str, Any] = {}

        async def scenario(site: DerSite, der: EvDer) -> None:
            await _authorized(site, der)
            departure = der.next_drive(site.now()).departure
            start = site.now() + LEAD_S
            program = site.add_program(1, "utility V2G")
            mrid = site.publish(
                program,
                start=start,
                duration=departure - start,
                modes={"opModFixedW": 10_000},
                response_required=7,
            )
            seen["mrid"] = mrid
            await _until(lambda: der.engine.state_of(mrid) == EventState.ACTIVE, "the event's start")
            began = _when(der, mrid, EventState.ACTIVE)
            await _until(lambda: any(a > began + 2 * SETTLE_S for a, _b, _w in _readings(site)), "readings")

        site, der = _run(settings, scenario, faults)
        return site, der, seen["mrid"]

    site, der, mrid = run(frozenset())
    assert _statuses(site, mrid) == [ResponseStatus.EVENT_RECEIVED, ResponseStatus.OPTED_OUT]
    assert der.inverter.exported_wh == 0
    site, der, mrid = run(frozenset({"der-ev-below-reserve"}))
    assert ResponseStatus.OPTED_OUT not in _statuses(site, mrid)
    assert der.inverter.exported_wh > 0


def test_next_drive_partial_caps_the_export(settings: DeviceSettings) -> None:
    seen: dict[str, Any] = {}

    async def scenario(site: DerSite, der: EvDer) -> None:
        await _authorized(site, der)
        # 3 h at 7.2 kW from about 00:05: 21.6 kWh asked, about 10 kWh to spare for a 07:00 departure.
        mrid, _start, _end = await _discharge(
            site, {"opModFixedW": 10_000}, duration=3 * 3600, response_required=7
        )
        seen["mrid"] = mrid
        await _until(lambda: der.engine.state_of(mrid) == EventState.ACTIVE, "the event's start")
        began = _when(der, mrid, EventState.ACTIVE)
        await _until(lambda: any(a > began + 3 * SETTLE_S for a, _b, _w in _readings(site)), "readings")

    site, der = _run(settings, scenario)
    statuses = _statuses(site, seen["mrid"])
    # The EV checks its next drive when it learns of the control, or at the start if it learns of it only
    # then: a loaded machine on this 600x clock can take the poll past the start (50 ms = 30 s).
    received = _when(der, seen["mrid"], EventState.SCHEDULED)
    late = received >= der.engine.records[seen["mrid"]].start
    decided = [ResponseStatus.EVENT_STARTED, ResponseStatus.PARTIAL_OPT_OUT]
    assert statuses[:3] == [ResponseStatus.EVENT_RECEIVED, *(decided if late else reversed(decided))]
    plan = der.plans[seen["mrid"]]
    began = _when(der, seen["mrid"], EventState.ACTIVE)
    during = [w for a, _b, w in _readings(site) if a >= _acted(der, began) + SETTLE_S]
    assert 0 < plan.cap_w < 7200
    assert during and all(w == pytest.approx(-plan.cap_w, abs=50) for w in during)


def test_loss_of_communication_falls_back_to_the_defaults_and_restores(settings: DeviceSettings) -> None:
    async def scenario(site: DerSite, der: EvDer) -> None:
        await _authorized(site, der)
        program = site.add_program(1, "utility V2G")
        start = site.now() + LEAD_S
        site.publish(program, start=start, duration=3 * EVENT_S, modes={"opModFixedW": 5000})
        await _until(lambda: der.inverter.power_w < -3000, "the export")
        site.unreachable_until(site.now() + (COMM_LOSS_POLLS + 2) * site.poll_rate)
        await _until(lambda: der.communication_lost, "communication lost")
        assert der.inverter.target_w == 0  # the defaults dispatch no real power
        await _until(lambda: der.inverter.power_w == 0, "the defaults in effect")
        await _until(lambda: not der.communication_lost, "communication restored")
        await _until(lambda: der.inverter.power_w < -3000, "the event again")

    _run(settings, scenario)


def test_a_server_clock_jump_starts_the_schedule_afresh() -> None:
    async def main() -> EvDer:
        der = EvDer("AB" * 20, SimClock(speedup=SPEEDUP))
        der.start()
        der.sync(der.clock.start)
        now = int(der.server_now())
        control = DerControl("C1", "P1", now, now + 600, 600, {"opModFixedW": 5000}, reply_to="/rsps/2/rsp")
        der.take(DerSnapshot((DerProgram("P1", 1),), (control,)), {})
        assert "C1" in der.engine.records
        offset = der.offset
        der.sync(der.clock.start - 30)  # a slow answer: the offset stays
        assert "C1" in der.engine.records and der.offset == offset
        der.sync(der.clock.start + 1)  # a quicker one: adopted, the same schedule
        assert "C1" in der.engine.records and der.offset > offset
        der.sync(der.clock.start - 86_400)  # another server's clock
        return der

    der = asyncio.run(main())
    assert der.engine.records == {} and der.offset is not None and der.offset < -80_000


def test_what_the_ev_writes_is_schema_valid_and_matches_its_ratings() -> None:
    async def main() -> EvDer:
        der = EvDer("AB" * 20, SimClock(speedup=SPEEDUP))
        der.start()
        der.sync(der.clock.start)
        return der

    der = asyncio.run(main())
    for resource in (der.capability(), der.settings_resource(), der.status(), der.availability()):
        assert validate(r.serialise(resource)) == [], type(resource).__name__
    capability, settings = der.capability(), der.settings_resource()
    assert capability.type_value.value == 81  # EV
    assert settings.set_max_w.value <= capability.rtg_max_w.value
    assert settings.set_max_discharge_rate_w.value <= capability.rtg_max_discharge_rate_w.value
    assert {"opModEnergize", "opModFixedW"} <= modes_from_bitmap(capability.modes_supported.value)
    assert der.status().state_of_charge_status.value.value == round(der.inverter.soc * 100)


def test_a_control_that_became_too_big_by_its_start_is_opted_out_then() -> None:
    async def main() -> tuple[EvDer, list[DerControlResponse]]:
        der = EvDer("AB" * 20, SimClock(speedup=SPEEDUP))
        der.start()
        der.sync(der.clock.start)
        now = int(der.server_now())
        # Fine at receipt (an hour at 3.6 kW from 60 %), a minute ahead ...
        control = DerControl(
            "C1",
            "P1",
            now,
            now + 60,
            3600,
            {"opModFixedW": 5000},
            response_required=7,
            reply_to="/rsps/2/rsp",
        )
        der.take(DerSnapshot((DerProgram("P1", 1),), (control,)), {})
        assert [int(p.status) for p in der.outbox] == [1]
        der.inverter.battery.soc = 20.0  # ... but at the reserve when it starts (say, driven meanwhile)
        await _until(lambda: len(der.outbox) >= 3, "the start and the opt-out")
        return der, list(der.outbox)

    der, posted = asyncio.run(main())
    assert [int(p.status) for p in posted] == [1, 2, 4]
    assert der.inverter.target_w == 0


def test_exports_unauthorized_fault_exports_before_declaring_its_inverter(settings: DeviceSettings) -> None:
    async def scenario(site: DerSite, der: EvDer) -> None:
        await _authorized(site, der)
        settled = der.inverter.authorized_at + SETTLE_S
        await _until(lambda: any(a >= settled for a, _b, _w in _readings(site)), "readings")

    site, der = _run(settings, scenario, frozenset({"der-ev-exports-unauthorized"}))
    first_put = site.puts[0].at
    before = [(a, w) for a, b, w in _readings(site) if b <= first_put]
    # It exports before declaring its inverter: at full power once its ramp (from its first change of
    # target, its own record) has settled.
    ramped = der.inverter.changes[0][0] + SETTLE_S
    assert before and min(w for _a, w in before) < 0
    assert all(w == pytest.approx(-7200, abs=50) for a, w in before if a >= ramped)
    # Once the EV has seen the grant (its own record: a loaded machine may see it later on this fast
    # clock than the site gave it) and ramped down, it holds: nothing commands export.
    assert der.inverter.authorized_at >= first_put
    after = [w for a, _b, w in _readings(site) if a >= der.inverter.authorized_at + SETTLE_S]
    assert after and all(w == 0 for w in after)
