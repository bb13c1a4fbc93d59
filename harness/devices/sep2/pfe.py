"""Reference PFE (utility) IEEE 2030.5 server: the resource tree of the simulated lab's AC charging flow.

Serves DeviceCapability, Time (the simulated clock), EndDevice + Registration for every registered
LFDI, FunctionSetAssignments, a 24-hour tariff (time-of-use, real-time or critical-peak pricing), a
DR program with its EndDeviceControls, FlowReservationRequest/Response, Messaging and
MirrorUsagePoints.  A client whose LFDI is not registered gets 403 on everything; bodies that are not
``application/sep+xml`` get 415, malformed or schema-invalid ones 400 (IEEE 2030.5 clause 5.5).

The same :class:`Sep2Server` serves as the tester's PFE/BMS (with hooks to publish events mid-run)
and as the reference BMS's site-facing server.  With ``der`` set it also serves the DER function set
(:class:`~harness.devices.sep2.der_site.DerSite`: ``/derp`` from the FunctionSetAssignments, the
EndDevice's DERList, DER responses and the DER site's TextMessages); without, nothing changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.devices.sep2.common import SIM_POLL_RATE_S, SIM_REGISTRATION_PIN, SimClock
from harness.devices.sep2.writes import read_written
from harness.protocol.sep2.endpoints import DCAP_PATH
from harness.protocol.sep2.planner import ROW_S, TABLE_HOURS
from harness.transport.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from harness.devices.sep2.der_site import DerSite

# The simulated lab's tariffs, price per kWh in the rate's currency units x 10^-3 (hourly, 24 h).
# Time-of-use: cheap nights (00-06), shoulder day, peak evening 17-21.
TOU_PRICES = tuple(50 if h < 6 else 300 if 17 <= h < 21 else 150 for h in range(TABLE_HOURS))
# Real-time pricing: an hourly shape with its minimum at 02-04.
RTP_PRICES = (
    90,
    70,
    40,
    35,
    45,
    80,
    120,
    160,
    170,
    150,
    130,
    120,
    110,
    115,
    125,
    140,
    180,
    260,
    280,
    240,
    200,
    160,
    130,
    100,
)
# Critical-peak pricing: TOU with a critical peak of 10x at 17-20.
CPP_PRICES = tuple(p * 10 if 17 <= h < 20 else p for h, p in enumerate(TOU_PRICES))
TARIFFS = {"tou": TOU_PRICES, "rtp": RTP_PRICES, "cpp": CPP_PRICES}
# IEEE 2030.5 ServiceKind 0 electricity, currency ISO 4217 840 (USD) as in the public examples.
CURRENCY_USD = 840
PRIMACY_UTILITY = 0  # IEEE 2030.5 PrimacyType: 0 = in home energy management, 1 = contracted premises
# The simulated DR event's duty cycle: devices run at 45 % of their normal load (a 7.2 kW EV: 3.2 kW).
SIM_DR_DUTY_CYCLE = 45
# IEEE 2030.5 TextMessage priority: 1 = normal.
PRIORITY_NORMAL = 1
# IEEE 2030.5 UomType 72: Wh; FlowDirectionType 1: forward (delivered to the customer).
UOM_WH = 72
FLOW_DELIVERED = 1
# Registration PIN the simulated lab uses (IEEE 2030.5 clause 6.3.4), one place: harness.devices.sep2.common.
SIM_PIN = SIM_REGISTRATION_PIN


@dataclass
class DrEventSpec:
    """A DR event: from ``start`` for ``duration`` devices run at ``duty_cycle_percent`` of their
    normal load (IEEE 2030.5 EndDeviceControl DutyCycle.normalValue)."""

    mrid: int
    start: int
    duration: int
    duty_cycle_percent: int


@dataclass
class Sep2Server:
    """The resource tree and request handler; ``registered`` maps LFDI -> role."""

    clock: SimClock
    registered: dict[str, str]
    tariff: str = "tou"
    poll_rate: int = SIM_POLL_RATE_S
    dr_events: list[DrEventSpec] = field(default_factory=list)
    messages: list[str] = field(default_factory=lambda: ["Welcome to the VGI lab"])
    posted: list[tuple[str, str, Any]] = field(default_factory=list)  # (lfdi, path, resource)
    flow_requests: dict[int, Any] = field(default_factory=dict)
    power_status: dict[int, Any] = field(default_factory=dict)
    mirrors: dict[int, Any] = field(default_factory=dict)
    # (method, path) pairs served, each kept once: testers ask whether a client read a resource yet; a log of
    # every request grew the long-lived server by ~125 B a request (benchmarks/soak.py)
    requests: set[tuple[str, str]] = field(default_factory=set)
    accept_malformed: bool = False
    registration_pin: int = SIM_PIN
    on_post: Callable[[str, str, Any], None] | None = None
    # The DER function set (harness.devices.sep2.der_site); None: AC charging only, as before.
    der: DerSite | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- identity -----------------------------------------------------------------------------
    def device_index(self, lfdi: str | None) -> int | None:
        if lfdi is None or lfdi not in self.registered:
            return None
        return sorted(self.registered).index(lfdi) + 1

    def add_dr_event(self, start: int, duration: int, duty_cycle: int = SIM_DR_DUTY_CYCLE) -> DrEventSpec:
        event = DrEventSpec(1000 + len(self.dr_events) + 1, start, duration, duty_cycle)
        self.dr_events.append(event)
        return event

    # --- resources ----------------------------------------------------------------------------
    def _day(self) -> int:
        now = self.clock.now()
        return now - now % (TABLE_HOURS * ROW_S)

    def dcap(self) -> Any:
        return r.DeviceCapability(
            href=DCAP_PATH,
            poll_rate=self.poll_rate,
            time_link=sep.TimeLink(href="/tm"),
            end_device_list_link=sep.EndDeviceListLink(href="/edev", all=len(self.registered)),
            mirror_usage_point_list_link=sep.MirrorUsagePointListLink(href="/mup", all=len(self.mirrors)),
            tariff_profile_list_link=sep.TariffProfileListLink(href="/tp", all=1),
            demand_response_program_list_link=sep.DemandResponseProgramListLink(href="/dr", all=1),
            messaging_program_list_link=sep.MessagingProgramListLink(href="/msg", all=1),
        )

    def time(self) -> Any:
        offset = sep.TimeOffsetType(value=0)
        return r.Time(
            href="/tm",
            poll_rate=self.poll_rate,
            current_time=v.sep_time(self.clock.now()),
            dst_end_time=v.sep_time(0),
            dst_offset=offset,
            dst_start_time=v.sep_time(0),
            quality=7,  # IEEE 2030.5 Time.quality 7: not synchronised to an external source
            tz_offset=offset,
        )

    def end_device(self, index: int) -> Any:
        lfdi = sorted(self.registered)[index - 1]
        base = f"/edev/{index}"
        hosts_der = self.der is not None and self.der.device_der
        der = {"derlist_link": self.der.der_list_link(index)} if hosts_der else {}
        return r.EndDevice(
            **der,
            href=base,
            l_fdi=v.lfdi_value(lfdi),
            s_fdi=sep.Sfditype(value=_sfdi(lfdi)),
            changed_time=v.sep_time(self.clock.start),
            registration_link=sep.RegistrationLink(href=f"{base}/rg"),
            function_set_assignments_list_link=sep.FunctionSetAssignmentsListLink(href=f"{base}/fsa", all=1),
            power_status_link=sep.PowerStatusLink(href=f"{base}/ps"),
            flow_reservation_request_list_link=sep.FlowReservationRequestListLink(href=f"{base}/frq", all=0),
            flow_reservation_response_list_link=sep.FlowReservationResponseListLink(
                href=f"{base}/frp", all=0
            ),
        )

    def end_device_list(self, lfdi: str) -> Any:
        index = self.device_index(lfdi)
        items = [self.end_device(index)] if index else []
        return r.EndDeviceList(href="/edev", all=len(items), results=len(items), end_device=items)

    def registration(self, index: int) -> Any:
        return r.Registration(
            href=f"/edev/{index}/rg",
            date_time_registered=v.sep_time(self.clock.start),
            p_in=sep.Pintype(value=self.registration_pin),
        )

    def fsa_list(self, index: int) -> Any:
        fsa = r.FunctionSetAssignments(
            href=f"/edev/{index}/fsa/1",
            m_rid=v.mrid(500 + index),
            description="VGI AC charging",
            tariff_profile_list_link=sep.TariffProfileListLink(href="/tp", all=1),
            demand_response_program_list_link=sep.DemandResponseProgramListLink(href="/dr", all=1),
            messaging_program_list_link=sep.MessagingProgramListLink(href="/msg", all=1),
            time_link=sep.TimeLink(href="/tm"),
        )
        if self.der is not None:
            fsa.derprogram_list_link = self.der.fsa_link()
        return r.FunctionSetAssignmentsList(
            href=f"/edev/{index}/fsa", all=1, results=1, function_set_assignments=[fsa]
        )

    def tariff_profiles(self) -> Any:
        profile = r.TariffProfile(
            href="/tp/1",
            m_rid=v.mrid(100),
            description=f"24-hour {self.tariff.upper()} tariff",
            primacy=sep.PrimacyType(value=PRIMACY_UTILITY),
            service_category_kind=sep.ServiceKind(value=v.SERVICE_KIND_ELECTRICITY),
            currency=sep.CurrencyCode(value=CURRENCY_USD),
            rate_component_list_link=sep.RateComponentListLink(href="/tp/1/rc", all=1),
        )
        return r.TariffProfileList(href="/tp", all=1, results=1, tariff_profile=[profile])

    def rate_components(self) -> Any:
        component = r.RateComponent(
            href="/tp/1/rc/1",
            m_rid=v.mrid(101),
            description="energy",
            reading_type_link=sep.ReadingTypeLink(href="/rt/1"),
            role_flags=v.role_flags(v.ROLE_FLAG_IS_PEV_BIT),
            time_tariff_interval_list_link=sep.TimeTariffIntervalListLink(
                href="/tp/1/rc/1/tti", all=TABLE_HOURS
            ),
        )
        return r.RateComponentList(href="/tp/1/rc", all=1, results=1, rate_component=[component])

    def tariff_intervals(self) -> Any:
        day = self._day()
        prices = TARIFFS[self.tariff]
        items = []
        # Today's remaining hours and tomorrow's first ones: always the next 24 hours (J2836/1).
        now_hour = (self.clock.now() - day) // ROW_S
        for offset in range(TABLE_HOURS):
            hour = now_hour + offset
            start = day + hour * ROW_S
            items.append(
                r.TimeTariffInterval(
                    href=f"/tp/1/rc/1/tti/{hour}",
                    m_rid=v.mrid(10_000 + hour),
                    creation_time=v.sep_time(self.clock.start),
                    event_status=v.event_status(v.EventStatusCode.SCHEDULED, self.clock.start),
                    interval=v.interval(start, ROW_S),
                    tou_tier=sep.Toutype(value=1 + int(prices[hour % TABLE_HOURS] > prices[0])),
                    consumption_tariff_interval_list_link=sep.ConsumptionTariffIntervalListLink(
                        href=f"/tp/1/rc/1/tti/{hour}/cti", all=1
                    ),
                    description=f"price {prices[hour % TABLE_HOURS]}",
                )
            )
        return r.TimeTariffIntervalList(
            href="/tp/1/rc/1/tti", all=len(items), results=len(items), time_tariff_interval=items
        )

    def consumption_interval(self, hour: int) -> Any:
        price = TARIFFS[self.tariff][hour % TABLE_HOURS]
        item = r.ConsumptionTariffInterval(
            href=f"/tp/1/rc/1/tti/{hour}/cti/1",
            consumption_block=sep.ConsumptionBlockType(value=1),
            price=price,
            start_value=0,
        )
        return r.ConsumptionTariffIntervalList(
            href=f"/tp/1/rc/1/tti/{hour}/cti", all=1, results=1, consumption_tariff_interval=[item]
        )

    def dr_programs(self) -> Any:
        program = r.DemandResponseProgram(
            href="/dr/1",
            m_rid=v.mrid(200),
            description="EV load control",
            primacy=sep.PrimacyType(value=PRIMACY_UTILITY),
            end_device_control_list_link=sep.EndDeviceControlListLink(
                href="/dr/1/edc", all=len(self.dr_events)
            ),
        )
        return r.DemandResponseProgramList(href="/dr", all=1, results=1, demand_response_program=[program])

    def dr_controls(self) -> Any:
        now = self.clock.now()
        items = []
        for event in self.dr_events:
            status = v.EventStatusCode.ACTIVE if event.start <= now else v.EventStatusCode.SCHEDULED
            items.append(
                r.EndDeviceControl(
                    href=f"/dr/1/edc/{event.mrid}",
                    m_rid=v.mrid(event.mrid),
                    description=f"duty cycle {event.duty_cycle_percent} %",
                    creation_time=v.sep_time(self.clock.start),
                    event_status=v.event_status(status, now),
                    interval=v.interval(event.start, event.duration),
                    reply_to="/rsps/1/rsp",
                    response_required=b"\x03",
                    device_category=v.device_category(v.DEVICE_CATEGORY_EV_BIT, v.DEVICE_CATEGORY_EVSE_BIT),
                    duty_cycle=sep.DutyCycle(normal_value=event.duty_cycle_percent),
                    dr_program_mandatory=True,
                    load_shift_forward=False,
                )
            )
        return r.EndDeviceControlList(
            href="/dr/1/edc", all=len(items), results=len(items), end_device_control=items
        )

    def messaging(self) -> Any:
        count = len(self.messages) + (len(self.der.messages) if self.der is not None else 0)
        program = r.MessagingProgram(
            href="/msg/1",
            m_rid=v.mrid(300),
            locale=sep.LocaleType(value="en-US"),
            primacy=sep.PrimacyType(value=PRIMACY_UTILITY),
            text_message_list_link=sep.TextMessageListLink(href="/msg/1/txt", all=count),
        )
        return r.MessagingProgramList(href="/msg", all=1, results=1, messaging_program=[program])

    def text_messages(self) -> Any:
        now = self.clock.now()
        items = [
            r.TextMessage(
                href=f"/msg/1/txt/{n}",
                m_rid=v.mrid(400 + n),
                creation_time=v.sep_time(self.clock.start),
                event_status=v.event_status(v.EventStatusCode.ACTIVE, now),
                interval=v.interval(self.clock.start, TABLE_HOURS * ROW_S),
                priority=sep.PriorityType(value=PRIORITY_NORMAL),
                text_message=text,
            )
            for n, text in enumerate(self.messages, start=1)
        ]
        if self.der is not None:
            items += self.der.text_messages(first=len(items) + 1)
        return r.TextMessageList(href="/msg/1/txt", all=len(items), results=len(items), text_message=items)

    def flow_responses(self, index: int) -> Any:
        items = []
        for mrid, request in sorted(self.flow_requests.items()):
            if request[0] != index:
                continue
            req = request[1]
            items.append(
                r.FlowReservationResponse(
                    href=f"/edev/{index}/frp/{mrid}",
                    m_rid=v.mrid(20_000 + mrid),
                    creation_time=v.sep_time(self.clock.now()),
                    event_status=v.event_status(v.EventStatusCode.SCHEDULED, self.clock.now()),
                    interval=req.interval_requested,
                    energy_available=v.signed_real_energy(
                        req.energy_requested.value, req.energy_requested.multiplier.value
                    ),
                    power_available=req.power_requested,
                    subject=req.m_rid,
                )
            )
        return r.FlowReservationResponseList(
            href=f"/edev/{index}/frp", all=len(items), results=len(items), flow_reservation_response=items
        )

    def reading_type(self) -> Any:
        # IEEE 2030.5 ReadingType of the energy rate: kWh (uom 72 Wh, multiplier 3), delivered (flow 1).
        return r.ReadingType(
            href="/rt/1",
            uom=sep.UomType(value=UOM_WH),
            power_of_ten_multiplier=sep.PowerOfTenMultiplierType(value=3),
            flow_direction=sep.FlowDirectionType(value=FLOW_DELIVERED),
            number_of_tou_tiers=2,
        )

    def flow_request_list(self, index: int) -> Any:
        items = [req for _mrid, (owner, req) in sorted(self.flow_requests.items()) if owner == index]
        return r.FlowReservationRequestList(
            href=f"/edev/{index}/frq", all=len(items), results=len(items), flow_reservation_request=items
        )

    def default_power_status(self, index: int) -> Any:
        # What the server knows before the device reports: nothing but that it is on mains.
        return r.PowerStatus(
            href=f"/edev/{index}/ps",
            battery_status=4,  # IEEE 2030.5 PowerStatus.batteryStatus 4: not applicable
            changed_time=v.sep_time(self.clock.start),
            current_power_source=sep.PowerSourceType(value=v.PowerSource.MAINS),
        )

    def mirror_list(self) -> Any:
        items = list(self.mirrors.values())
        return r.MirrorUsagePointList(
            href="/mup", all=len(items), results=len(items), mirror_usage_point=items
        )

    # --- HTTP ---------------------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> HttpResponse:
        if self.der is not None and self.der.unreachable():
            # The scenario's loss of communication: every request fails (README AC DER).
            return HttpResponse.empty(HTTPStatus.SERVICE_UNAVAILABLE)
        lfdi = request.peer.lfdi if request.peer else None
        index = self.device_index(lfdi)
        if index is None:
            # IEEE 2030.5 clause 6.3.4: the server serves registered devices only.
            return HttpResponse.empty(HTTPStatus.FORBIDDEN)
        path = request.path.rstrip("/") or "/"
        self.requests.add((request.method, path))
        if self.der is not None and self.der.owns(request, path, index):
            return self.der.handle(request, path, index, lfdi or "")
        if request.method in ("GET", "HEAD"):
            resource = self._get(path, index, lfdi or "")
            if resource is None:
                return HttpResponse.empty(HTTPStatus.NOT_FOUND)
            return HttpResponse.sep_xml(r.serialise(resource))
        if request.method in ("POST", "PUT"):
            return self._write(request, path, index, lfdi or "")
        if request.method == "DELETE":
            return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", "GET, HEAD"),))
        return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", "GET, HEAD, PUT, POST"),))

    def _get(self, path: str, index: int, lfdi: str) -> Any:
        base = f"/edev/{index}"
        fixed: dict[str, Callable[[], Any]] = {
            DCAP_PATH: self.dcap,
            "/tm": self.time,
            "/edev": lambda: self.end_device_list(lfdi),
            base: lambda: self.end_device(index),
            f"{base}/rg": lambda: self.registration(index),
            f"{base}/fsa": lambda: self.fsa_list(index),
            f"{base}/frp": lambda: self.flow_responses(index),
            "/tp": self.tariff_profiles,
            "/tp/1/rc": self.rate_components,
            "/tp/1/rc/1/tti": self.tariff_intervals,
            "/dr": self.dr_programs,
            "/dr/1/edc": self.dr_controls,
            "/msg": self.messaging,
            "/msg/1/txt": self.text_messages,
            "/mup": self.mirror_list,
            "/rt/1": self.reading_type,
            f"{base}/frq": lambda: self.flow_request_list(index),
            f"{base}/ps": lambda: self.power_status.get(index) or self.default_power_status(index),
        }
        if path in fixed:
            return fixed[path]()
        parts = path.split("/")
        if (
            len(parts) == 8
            and path.startswith("/tp/1/rc/1/tti/")
            and parts[7] == "cti"
            and parts[6].isdigit()
        ):
            return self.consumption_interval(int(parts[6]))
        return None

    _WRITABLE = {
        "frq": ("POST", r.FlowReservationRequest),
        "ps": ("PUT", r.PowerStatus),
        "rsp": ("POST", r.DrResponse),
        "mup": ("POST", r.MirrorUsagePoint),
        # IEEE 2030.5 metering mirror: a MirrorUsagePoint takes one MirrorMeterReading or a list of them.
        "mr": ("POST", (r.MirrorMeterReading, r.MirrorMeterReadingList)),
        "txtrsp": ("POST", r.TextResponse),
    }

    def _target(self, path: str, index: int) -> str | None:
        base = f"/edev/{index}"
        if path == f"{base}/frq":
            return "frq"
        if path == f"{base}/ps":
            return "ps"
        if path == "/rsps/1/rsp":
            return "rsp"
        if path == "/mup":
            return "mup"
        if path.startswith("/mup/") and path[5:].isdigit():
            return "mr"
        return None

    def _write(self, request: HttpRequest, path: str, index: int, lfdi: str) -> HttpResponse:
        target = self._target(path, index)
        if target is None:
            return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", "GET, HEAD"),))
        method, resource_class = self._WRITABLE[target]
        resource = read_written(request, method, resource_class)
        if isinstance(resource, HttpResponse):
            if resource.status == HTTPStatus.BAD_REQUEST and self.accept_malformed:
                # fault switch: a server that does not check what it stores
                return HttpResponse.empty(HTTPStatus.CREATED, (("Location", f"{path}/0"),))
            return resource
        self.posted.append((lfdi, path, resource))
        if self.on_post is not None:
            self.on_post(lfdi, path, resource)
        if target == "ps":
            self.power_status[index] = resource
            return HttpResponse.empty(HTTPStatus.NO_CONTENT)
        number = next(self._ids)
        if target == "frq":
            self.flow_requests[number] = (index, resource)
            return HttpResponse.empty(HTTPStatus.CREATED, (("Location", f"/edev/{index}/frq/{number}"),))
        if self.der is not None and target in ("mup", "mr"):
            self.der.record_reading(lfdi, path, resource)
        if target == "mup":
            resource.href = f"/mup/{number}"
            self.mirrors[number] = resource
            return HttpResponse.empty(HTTPStatus.CREATED, (("Location", f"/mup/{number}"),))
        return HttpResponse.empty(HTTPStatus.CREATED, (("Location", f"{path}/{number}"),))


def _sfdi(lfdi: str) -> int:
    from harness.pki.identity import sfdi_from_lfdi

    return sfdi_from_lfdi(lfdi)
