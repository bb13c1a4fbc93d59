"""Reference IEEE 2030.5 clients: EV (J2836/1 logic), EVSE, DC charger, telematics and meter.

Each finds its server on the link (by DNS-SD: :func:`harness.devices.sep2.common.find_server`), opens
one mutual-TLS connection, reads DeviceCapability, finds
its EndDevice (its own LFDI), Registration and FunctionSetAssignments, then polls the function sets
its role uses at the announced pollRate.  The EV (and telematics, the EV's logic over the internet
path) feeds prices and DR events to :class:`harness.protocol.sep2.planner.EvChargingLogic` and sends
its FlowReservationRequest, PowerStatus with PEVInfo and DrResponses; the meter mirrors its readings
with MirrorUsagePoint.  Times come from the server's Time resource (the simulated clock).
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.document import Sep2DecodeError
from harness.devices.sep2.common import (
    SIM_POLL_RATE_S,
    client_tls,
    find_server,
    identity,
)
from harness.devices.settings import DeviceSettings
from harness.protocol.sep2.endpoints import DCAP_PATH
from harness.protocol.sep2.planner import (
    AcknowledgeEvent,
    ArmTimer,
    ChargeNeed,
    DrEvent,
    EvChargingLogic,
    PlanKind,
    PriceInterval,
    RequestFlowReservation,
    StartCharging,
    StopCharging,
)
from harness.transport.http import Sep2HttpClient
from harness.transport.link import Link

# The simulated EV's need: 20 kWh by 07:00 of the simulated day, 7.2 kW on-board charger.
SIM_EV_ENERGY_WH = 20_000
SIM_EV_MAX_POWER_W = 7_200
SIM_EV_DEPARTURE_HOUR = 7
SIM_EV_TARGET_SOC_HUNDREDTHS = 9000  # 90 % (PerCent in hundredths)
# IEEE 2030.5 PowerStatus.batteryStatus 4: not applicable (the EV reports its traction battery in
# PEVInfo, not as a backup battery).
BATTERY_STATUS_NOT_APPLICABLE = 4
# Fault sep2-client-polls-fast: poll this many times faster than the server's pollRate.
FAST_POLL_DIVISOR = 10
# Longest wait between reconnection attempts after a failed session (harness choice).
MAX_BACKOFF_S = 8
# Upper bound on polling cycles of one client run (the device runs until stopped; this is a guard).
MAX_CYCLES = 100_000


class ClientError(RuntimeError):
    pass


@dataclass
class Sep2Client:
    """One role's session with its server."""

    role: str
    http: Sep2HttpClient
    lfdi: str
    links: dict[str, str] = field(default_factory=dict)
    edev: str | None = None
    now: int = 0
    poll_rate: float = SIM_POLL_RATE_S
    synced_at: float | None = None
    faults: frozenset[str] = frozenset()
    dcap_path: str = DCAP_PATH

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        if response.status != 200:
            raise ClientError(f"GET {path}: {response.status}")
        try:
            return r.parse_any(response.body, strict=False)
        except Sep2DecodeError as exc:
            raise ClientError(f"GET {path}: {exc.reason}") from None

    async def send(self, method: str, path: str, resource: Any) -> int:
        response = await self.http.request(
            method, path, r.serialise(resource), (("Content-Type", "application/sep+xml"),)
        )
        return response.status

    async def start(self) -> None:
        """Discovery through DeviceCapability, Time, EndDevice, Registration, FSA (IEEE 2030.5 6.3, 6.5)."""
        dcap = await self.get(self.dcap_path)
        self.poll_rate = float(dcap.poll_rate or SIM_POLL_RATE_S)
        for name in (
            "time_link",
            "end_device_list_link",
            "tariff_profile_list_link",
            "demand_response_program_list_link",
            "messaging_program_list_link",
            "mirror_usage_point_list_link",
        ):
            link = getattr(dcap, name, None)
            if link is not None:
                self.links[name] = link.href
        await self.sync_time()
        edevs = await self.get(self.links["end_device_list_link"])
        mine = [d for d in edevs.end_device if d.l_fdi and d.l_fdi.hex().lower() == self.lfdi.lower()]
        if not mine:
            raise ClientError("this device is not registered with the server")
        self.edev = mine[0].href
        if mine[0].derlist_link is not None:  # a DER's own resources (IEEE 2030.5 DER function set)
            self.links["derlist_link"] = mine[0].derlist_link.href
        await self.get(mine[0].registration_link.href)
        fsas = await self.get(mine[0].function_set_assignments_list_link.href)
        for fsa in fsas.function_set_assignments:
            for name in (
                "tariff_profile_list_link",
                "demand_response_program_list_link",
                "messaging_program_list_link",
                "derprogram_list_link",
            ):
                link = getattr(fsa, name, None)
                if link is not None:
                    self.links[name] = link.href

    async def pause(self) -> None:
        """Wait one poll period (a tenth of it with the fault switch sep2-client-polls-fast)."""
        fast = "sep2-client-polls-fast" in self.faults
        await asyncio.sleep(self.poll_rate / FAST_POLL_DIVISOR if fast else self.poll_rate)

    async def sync_time(self) -> None:
        """Read Time at most once per pollRate (IEEE 2030.5 clause 5.5.4)."""
        mono = time.monotonic()
        polite = "sep2-client-polls-fast" not in self.faults
        if polite and self.synced_at is not None and mono - self.synced_at < self.poll_rate:
            return
        tm = await self.get(self.links["time_link"])
        self.now = int(tm.current_time.value)
        self.synced_at = mono

    async def prices(self) -> tuple[PriceInterval, ...]:
        profiles = await self.get(self.links["tariff_profile_list_link"])
        out: list[PriceInterval] = []
        for profile in profiles.tariff_profile[:1]:
            components = await self.get(profile.rate_component_list_link.href)
            for component in components.rate_component[:1]:
                intervals = await self.get(component.time_tariff_interval_list_link.href)
                for tti in intervals.time_tariff_interval:
                    ctis = await self.get(tti.consumption_tariff_interval_list_link.href)
                    price = ctis.consumption_tariff_interval[0].price or 0
                    start, duration = int(tti.interval.start.value), int(tti.interval.duration)
                    out.append(PriceInterval(start, duration, int(price), int(tti.tou_tier.value)))
        return tuple(out)

    async def dr_events(self) -> tuple[tuple[DrEvent, ...], dict[str, str]]:
        programs = await self.get(self.links["demand_response_program_list_link"])
        events: list[DrEvent] = []
        reply_to: dict[str, str] = {}
        for program in programs.demand_response_program:
            controls = await self.get(program.end_device_control_list_link.href)
            for edc in controls.end_device_control:
                mrid = edc.m_rid.value.hex().upper()
                cancelled = edc.event_status.current_status in (2, 3, 4)
                # DutyCycle.normalValue: the share of its normal load the device may draw.
                percent = edc.duty_cycle.normal_value if edc.duty_cycle is not None else 100
                limit = SIM_EV_MAX_POWER_W * int(percent) // 100
                events.append(
                    DrEvent(mrid, int(edc.interval.start.value), int(edc.interval.duration), limit, cancelled)
                )
                if edc.reply_to:
                    reply_to[mrid] = edc.reply_to
        return tuple(events), reply_to

    async def messages(self) -> None:
        programs = await self.get(self.links["messaging_program_list_link"])
        for program in programs.messaging_program:
            await self.get(program.text_message_list_link.href)


def _pev_info(need: ChargeNeed, now: int, power_w: int) -> Any:
    return r.PEVInfo(
        charging_power_now=v.active_power(power_w),
        energy_request_now=v.real_energy(need.energy_wh),
        max_forward_power=v.active_power(need.max_power_w),
        minimum_charging_duration=need.energy_wh * 3600 // need.max_power_w,
        target_state_of_charge=v.percent(SIM_EV_TARGET_SOC_HUNDREDTHS),
        time_charge_is_needed=v.sep_time(need.time_charge_is_needed),
        time_charging_status_pev=v.sep_time(now),
    )


async def run_ev_logic(
    client: Sep2Client, settings: DeviceSettings, choice: PlanKind = PlanKind.OPTIMIZED
) -> None:
    """The EV's J2836/1 loop: poll prices and DR, plan, reserve, acknowledge, start when planned."""
    day = client.now - client.now % 86_400
    need = ChargeNeed(SIM_EV_ENERGY_WH, SIM_EV_MAX_POWER_W, day + SIM_EV_DEPARTURE_HOUR * 3600)
    if need.time_charge_is_needed <= client.now:
        need = ChargeNeed(need.energy_wh, need.max_power_w, need.time_charge_is_needed + 86_400)
    # The re-plan window comes from PIXIT (SEP2_REPLAN_WINDOW, 15 min by default), in server time.
    logic = EvChargingLogic(need, choice, settings.timer("SEP2_REPLAN_WINDOW"))
    assert client.edev is not None
    timers: dict[str, int] = {}
    power_now = 0
    request_serial = 0
    for _ in range(MAX_CYCLES):
        await client.sync_time()
        now = client.now
        actions: list[Any] = []
        actions += logic.prices_received(now, await client.prices())
        events, reply_to = await client.dr_events()
        actions += logic.events_received(now, events)
        for name, at in list(timers.items()):
            if now >= at:
                del timers[name]
                actions += logic.timer_expired(now, name)
        for action in actions:
            if isinstance(action, ArmTimer):
                timers[action.name] = action.at
            elif isinstance(action, AcknowledgeEvent) and "sep2-ev-ignores-dr" not in client.faults:
                response = r.DrResponse(
                    created_date_time=v.sep_time(now),
                    end_device_lfdi=v.lfdi_value(client.lfdi),
                    status=action.status,
                    subject=sep.MRidtype(value=bytes.fromhex(action.mrid)),
                )
                await client.send("POST", reply_to.get(action.mrid, "/rsps/1/rsp"), response)
            elif isinstance(action, RequestFlowReservation):
                request_serial += 1
                plan = action.plan
                frq = r.FlowReservationRequest(
                    m_rid=v.mrid(0x10_0000 + request_serial),
                    description=f"{plan.kind.value} plan",
                    creation_time=v.sep_time(now),
                    duration_requested=max(0, plan.duration),
                    energy_requested=v.signed_real_energy(plan.energy_wh),
                    interval_requested=v.interval(
                        plan.start, max(0, need.time_charge_is_needed - plan.start)
                    ),
                    power_requested=v.active_power(plan.power_w),
                    request_status=v.request_status(v.RequestStatusCode.REQUESTED, now),
                )
                await client.send("POST", f"{client.edev}/frq", frq)
                await client.send("PUT", f"{client.edev}/ps", _power_status(need, now, power_now))
            elif isinstance(action, StartCharging | StopCharging):
                power_now = action.plan.power_w if isinstance(action, StartCharging) else 0
                print(f"CHARGING {'START' if power_now else 'STOP'} at {now}", flush=True)
                await client.send("PUT", f"{client.edev}/ps", _power_status(need, now, power_now))
        await client.messages()
        await client.pause()


def _power_status(need: ChargeNeed, now: int, power_w: int) -> Any:
    return r.PowerStatus(
        battery_status=BATTERY_STATUS_NOT_APPLICABLE,
        changed_time=v.sep_time(now),
        current_power_source=sep.PowerSourceType(value=1),
        pevinfo=_pev_info(need, now, power_w),
    )


async def run_meter_logic(client: Sep2Client) -> None:
    """Interface 9: mirror the charge point's energy register (MirrorUsagePoint, clause 10.10)."""
    mup = r.MirrorUsagePoint(
        m_rid=v.mrid(0x20_0001),
        description="EVSE energy meter",
        role_flags=v.role_flags(v.ROLE_FLAG_IS_MIRROR_BIT, v.ROLE_FLAG_IS_SUBMETER_BIT),
        service_category_kind=sep.ServiceKind(value=v.SERVICE_KIND_ELECTRICITY),
        status=1,
        device_lfdi=v.lfdi_value(client.lfdi),
    )
    response = await client.http.request(
        "POST",
        client.links["mirror_usage_point_list_link"],
        r.serialise(mup),
        (("Content-Type", "application/sep+xml"),),
    )
    location = response.header("Location") or "/mup/1"
    register = 0
    for serial in range(MAX_CYCLES):
        await client.sync_time()
        register += 1_000
        reading = r.MirrorMeterReading(
            m_rid=v.mrid(0x20_1000 + serial),
            description="energy delivered",
            reading=sep.Reading(value=register, time_period=v.interval(client.now, 60)),
        )
        await client.send("POST", location, reading)
        await client.pause()


async def run_polling_logic(client: Sep2Client) -> None:
    """EVSE and DC charger: follow prices, DR and messages for the site (interfaces 3, 5, 7, 8)."""
    for _ in range(MAX_CYCLES):
        await client.sync_time()
        await client.prices()
        await client.dr_events()
        await client.messages()
        await client.pause()


async def run_client(role: str, link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    server = await find_server(link, settings)
    print(
        f"READY {role} sep2 client server={server.host} port={server.port} dcap={server.dcap_path} "
        f"via={server.via}",
        flush=True,
    )
    backoff = SIM_POLL_RATE_S
    for _ in range(MAX_CYCLES):
        http = Sep2HttpClient(link.host_for(server.host), server.port, client_tls(role, settings))
        try:
            session = await http.connect()
            print(f"CONNECTED {role} tls={session}", flush=True)
            client = Sep2Client(
                role, http, identity(role, settings).lfdi, faults=faults, dcap_path=server.dcap_path
            )
            await client.start()
            if role in ("ev", "telematics"):
                await run_ev_logic(client, settings)
            elif role == "meter":
                await run_meter_logic(client)
            else:
                await run_polling_logic(client)
        except (ClientError, ssl.SSLError, ConnectionError, OSError, TimeoutError, ValueError) as exc:
            # A good device keeps trying, backing off (IEEE 2030.5 leaves the policy to the client).
            print(f"RETRY {role}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            await http.close()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)


def _role_main(role: str):  # noqa: ANN202 - the device entry point type of harness.devices.runner
    async def main(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
        await run_client(role, link, settings, faults)

    main.__name__ = f"run_{role.replace('-', '_')}_sep2"
    return main


run_ev_sep2 = _role_main("ev")
run_evse_sep2 = _role_main("evse")
run_dc_charger_sep2 = _role_main("dc-charger")
run_telematics_sep2 = _role_main("telematics")
run_meter_sep2 = _role_main("meter")
