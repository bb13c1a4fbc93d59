"""The DIN SPEC 70121 machines as kernel cores: one timer table, stale expiries ignored, the drivers' view of
their deadlines, and the V2G session adapter's negotiated schema."""

from __future__ import annotations

import asyncio
import socket
from types import MappingProxyType

import pytest

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import DcCharger
from harness.devices.settings import DeviceSettings
from harness.protocol.core import Close, Core, LinkUp, MessageReceived, Send, TimedCore, TimerExpired
from harness.protocol.din70121.evcc import EvccMachine, EvccState
from harness.protocol.din70121.events import StopResult, StopSession
from harness.protocol.din70121.faults import delay
from harness.protocol.din70121.messages import supported_app_protocol_req
from harness.protocol.din70121.secc import SeccMachine
from harness.protocol.din70121.timing import (
    CABLE_CHECK_TIMER,
    COMMUNICATION_SETUP_TIMER,
    MSG_TIMER,
    PIXIT_TIMERS,
    SEQUENCE_TIMER,
    DinTimings,
)
from harness.protocol.faults import FaultyCore
from harness.testers import din70121 as din_testers
from harness.transport.v2g import AppProtocolNegotiation, V2gtpStream, run_session, schema_of

PACK = BatteryParameters(capacity_kwh=0.1, target_soc=80.0, taper_start_soc=70.0)
ISO2_NAMESPACE = "urn:iso:15118:2:2013:MsgDef"
DIN_NAMESPACE = "urn:din:70121:2012:MsgDef"


def evcc() -> EvccMachine:
    return EvccMachine(Battery(PACK, soc=79.5))


def test_din_machines_are_kernel_cores() -> None:
    for machine in (evcc(), SeccMachine(DcCharger())):
        assert isinstance(machine, TimedCore)
        assert isinstance(machine, Core)
        assert isinstance(FaultyCore(machine), Core)


def test_evcc_deadlines_come_from_its_timer_table() -> None:
    machine = evcc()
    actions = machine.handle(LinkUp(), 0.0)
    assert [a.name for a in actions if isinstance(a, Send)] == ["supportedAppProtocolReq"]
    # DIN SPEC 70121 Table 75/77: the response within 2 s, the session set up within 20 s.
    assert machine.timers.deadlines == {COMMUNICATION_SETUP_TIMER: 20.0, MSG_TIMER: 2.0}
    assert machine.next_deadline() == 2.0
    assert machine.due_timers(1.9) == []
    assert machine.due_timers(2.0) == [MSG_TIMER]


def test_evcc_ignores_early_and_unarmed_expiries() -> None:
    machine = evcc()
    machine.handle(LinkUp(), 0.0)
    assert machine.handle(TimerExpired(MSG_TIMER), 1.0) == []  # not due yet
    assert machine.handle(TimerExpired(CABLE_CHECK_TIMER), 30.0) == []  # never armed
    assert machine.state is EvccState.WAITING and machine.result is None
    actions = machine.handle(TimerExpired(MSG_TIMER), 2.0)
    assert machine.result == StopSession(StopResult.TIMEOUT, machine.result.reason)
    assert any(isinstance(a, Close) for a in actions)
    assert machine.next_deadline() is None  # every timer cancelled when the session stopped


def test_secc_ignores_the_expiry_of_a_rearmed_sequence_timer() -> None:
    secc = SeccMachine(DcCharger())
    secc.handle(LinkUp(), 0.0)
    secc.handle(MessageReceived(supported_app_protocol_req()), 10.0)  # answered: re-armed to 70 s
    assert secc.handle(TimerExpired(SEQUENCE_TIMER), 60.0) == []
    assert secc.result is None and secc.next_deadline() == 70.0
    secc.handle(TimerExpired(SEQUENCE_TIMER), 70.0)
    assert secc.result is not None and secc.result.result is StopResult.TIMEOUT


def test_faulty_core_reports_the_release_of_a_delayed_response() -> None:
    core = FaultyCore(SeccMachine(DcCharger()), [delay("supportedAppProtocolRes", 0.5)])
    core.handle(LinkUp(), 0.0)
    actions = core.handle(MessageReceived(supported_app_protocol_req()), 1.0)
    assert not any(isinstance(a, Send) for a in actions)
    assert core.next_deadline() == 1.5
    released = [a for name in core.due_timers(1.5) for a in core.handle(TimerExpired(name), 1.5)]
    assert [a.name for a in released if isinstance(a, Send)] == ["supportedAppProtocolRes"]


def test_stop_on_response_is_a_core_with_the_wrapped_deadlines() -> None:
    core = din_testers.TesterSetup(stop_on=("CurrentDemandRes", 1)).ev_machine()
    assert isinstance(core.core, din_testers.StopOnResponse)
    core.handle(LinkUp(), 0.0)
    assert core.next_deadline() == 2.0
    assert core.due_timers(2.0) == [MSG_TIMER]
    assert core.battery.soc == pytest.approx(79.0)  # the reference EV's pack, reached through the wrappers


def _settings(**overrides: float) -> DeviceSettings:
    timers = {name: getattr(DinTimings(), field) for field, (name, _, _) in PIXIT_TIMERS.items()}
    timers.update(overrides)
    return DeviceSettings(timers=MappingProxyType(timers))


def test_tester_connect_timeout_honours_the_pixit_override() -> None:
    assert din_testers.TesterSetup.from_settings(_settings()).connect_timeout_s == 20.0
    setup = din_testers.TesterSetup.from_settings(_settings(V2G_EVCC_CommunicationSetup_Timeout=35.0))
    assert setup.connect_timeout_s == 35.0
    assert setup.timings.evcc_communication_setup_timeout_s == 35.0


# --- the session adapter's schema after supportedAppProtocol ------------------------------------------


def _offer(*protocols: tuple[str, int]) -> dict:
    return {
        "supportedAppProtocolReq": {
            "AppProtocol": [
                {
                    "ProtocolNamespace": namespace,
                    "VersionNumberMajor": 2,
                    "VersionNumberMinor": 0,
                    "SchemaID": schema_id,
                    "Priority": priority,
                }
                for priority, (namespace, schema_id) in enumerate(protocols, start=1)
            ]
        }
    }


def _answer(code: str, schema_id: int | None) -> dict:
    content: dict = {"ResponseCode": code}
    if schema_id is not None:
        content["SchemaID"] = schema_id
    return {"supportedAppProtocolRes": content}


@pytest.mark.parametrize(
    ("answer", "schema"),
    [
        (_answer("OK_SuccessfulNegotiation", 1), "din"),
        (_answer("OK_SuccessfulNegotiationWithMinorDeviation", 2), "iso2"),
        (_answer("Failed_NoNegotiation", None), "din"),  # nothing chosen: the session's default
        (_answer("OK_SuccessfulNegotiation", 7), "din"),  # a SchemaID never offered
    ],
)
def test_negotiated_schema_follows_the_chosen_namespace(answer: dict, schema: str) -> None:
    negotiation = AppProtocolNegotiation()
    assert negotiation.schema == "din"
    negotiation.observe(_offer((DIN_NAMESPACE, 1), (ISO2_NAMESPACE, 2)))
    negotiation.observe(answer)
    assert negotiation.schema == schema


def test_schema_of_a_message_depends_on_the_session_schema() -> None:
    assert schema_of(supported_app_protocol_req(), "iso2") == "app"
    assert schema_of({"V2G_Message": {"Header": {}, "Body": {"SessionSetupReq": {}}}}, "iso2") == "iso2"
    assert schema_of({"V2G_Message": {"Header": {}, "Body": {"SessionSetupReq": {}}}}) == "din"


class _Broken:
    """A core with a bug: it raises on its first event."""

    def handle(self, event: object, now: float) -> list[object]:
        raise RuntimeError("core bug")

    def next_deadline(self) -> float | None:
        return None

    def due_timers(self, now: float) -> list[str]:
        return []


def test_a_core_error_ends_run_session_with_that_error() -> None:
    async def scenario() -> None:
        accepted: asyncio.Queue = asyncio.Queue()

        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put(writer)

        server = await asyncio.start_server(on_connection, "::1", 0, family=socket.AF_INET6)
        port = server.sockets[0].getsockname()[1]
        stream = V2gtpStream(*await asyncio.open_connection("::1", port))
        peer = await accepted.get()
        try:
            await run_session(_Broken(), stream)
        finally:
            peer.close()
            server.close()

    with pytest.raises(RuntimeError, match="core bug"):
        asyncio.run(asyncio.wait_for(scenario(), 10))


def test_an_ambiguous_schema_id_keeps_the_default_schema() -> None:
    # Two namespaces offered under one SchemaID: the choice does not say which, so the session's own.
    negotiation = AppProtocolNegotiation()
    negotiation.observe(_offer((ISO2_NAMESPACE, 1), (DIN_NAMESPACE, 1)))
    negotiation.observe(_answer("OK_SuccessfulNegotiation", 1))
    assert negotiation.schema == "din"
