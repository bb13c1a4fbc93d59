"""Reference IEEE 2030.5 DER servers as DUTs: the PFE or BMS serving DER programs (interfaces 7/8) and
the EVSE authorizing an EV's inverter (SAE J3072, interface 5), each the service ``der`` of its sim
role (README AC DER "Server and EVSE DUTs").

The PFE/BMS publish, besides the DER site's J3072 program (program 1), a utility program (program 2,
primacy UTILITY_PRIMACY) whose DefaultDERControl caps export and names a frequency-watt DERCurve, with
two discharges.  While a client follows them the server changes its schedule, as an operator would:
CHANGE_AFTER_POLLS poll periods after a client first reads the DERProgramList it cancels the first
discharge and publishes a replacement for the second (same window, newer creationTime: the client must
supersede the older one, REFERENCE-DER.md section 1 event rules).

The EVSE serves only the DER site (its J3072 program: opModEnergize false until the EV's DERCapability
and DERSettings comply with :mod:`harness.protocol.sep2.j3072`, a refusal as a TextMessage).

Sim faults (:data:`harness.devices.catalog.SIM_FAULTS`):

* ``der-server-overlapping-equal-primacy``: program 2 also carries a control overlapping the first
  discharge for the same mode with the same creationTime (no client can tell which one applies);
* ``der-server-refuses-responses``: every DERControlResponse POST is answered 400;
* ``der-evse-authorizes-unchecked``: the EVSE authorizes (opModEnergize true) before any settings.

Times are server seconds on a :class:`~harness.devices.sep2.common.SimClock` at PIXIT
``sep2_clock_speedup`` (README AC DER "Clock").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus

from harness.codec.sep2 import resources as r
from harness.codec.sep2.document import Sep2DecodeError
from harness.devices.sep2.common import SimClock, registration_pin
from harness.devices.sep2.der_site import CURVE_FREQ_WATT, J3072_AUTHORIZED, J3072_PROGRAM, DerSite
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.sep2.servers import registered_devices, serve
from harness.devices.settings import DeviceSettings
from harness.transport.http import HttpRequest, HttpResponse
from harness.transport.link import Link

FAULT_OVERLAP = "der-server-overlapping-equal-primacy"
FAULT_REFUSE_RESPONSES = "der-server-refuses-responses"
FAULT_UNCHECKED = "der-evse-authorizes-unchecked"

# The utility program (harness choice): primacy 10, below the J3072 program's 0.  Its default caps export
# at 100 % of setMaxW (opModMaxLimW, hundredths of a percent) and follows a frequency-watt curve.
UTILITY_PRIMACY = 10
UTILITY_DESCRIPTION = "Utility DER program"
UTILITY_DEFAULT_CAP = {"opModMaxLimW": 10000}
# IEEE 1547-2018 Table 24 default frequency-droop corners at 60 Hz (Hz in hundredths, % of setMaxW in
# hundredths): full output up to 60.036 Hz, none at 62 Hz.  A harness choice of points, not a setting
# judged anywhere.
FREQ_WATT_POINTS = ((5800, 10000), (6004, 10000), (6200, 0))
FREQ_WATT_X_MULTIPLIER = -2
# The two discharges (server seconds after the server starts) and what they command.
DISCHARGE = {"opModFixedW": 5000}
DISCHARGE_START_S = 240
DISCHARGE_DURATION_S = 1200
EVENING = {"opModFixedW": 5000}
EVENING_START_S = 1800
EVENING_DURATION_S = 600
REPLACEMENT = {"opModFixedW": 3000}
# The fault's duplicate: same window and mode as the first discharge, another value.
DUPLICATE = {"opModFixedW": 2500}
# When the server changes its schedule: this many poll periods after a client first read /derp.
CHANGE_AFTER_POLLS = 3
# How often (wall seconds) the server looks whether a client has read its program list yet.
WATCH_PERIOD_S = 0.1
PROGRAM_LIST_PATH = "/derp"


@dataclass
class DerSchedule:
    """The utility program's index and the mRIDs of its controls (what the change acts on)."""

    program: int
    discharge: str
    evening: str
    evening_start: int


def utility_program(der: DerSite, faults: frozenset[str]) -> DerSchedule:
    """Program 2 with its default, curve and the two discharges (the fault adds the duplicate)."""
    program = der.add_program(UTILITY_PRIMACY, UTILITY_DESCRIPTION)
    curve = der.add_curve(
        program,
        CURVE_FREQ_WATT,
        FREQ_WATT_POINTS,
        x_multiplier=FREQ_WATT_X_MULTIPLIER,
        description="frequency-watt",
    )
    der.set_default(program, {**UTILITY_DEFAULT_CAP, "opModFreqWatt": curve})
    now = der.now()
    start = now + DISCHARGE_START_S
    discharge = der.publish(
        program,
        start=start,
        duration=DISCHARGE_DURATION_S,
        modes=DISCHARGE,
        description="discharge",
        creation_time=now,
    )
    evening_start = now + EVENING_START_S
    evening = der.publish(
        program, start=evening_start, duration=EVENING_DURATION_S, modes=EVENING, description="evening"
    )
    if FAULT_OVERLAP in faults:
        der.publish(
            program,
            start=start,
            duration=DISCHARGE_DURATION_S,
            modes=DUPLICATE,
            description="duplicate",
            creation_time=now,
        )
    return DerSchedule(program, discharge, evening, evening_start)


def change_schedule(der: DerSite, schedule: DerSchedule) -> str:
    """The operator's change: cancel the first discharge, replace the second; the replacement's mRID."""
    der.cancel(schedule.discharge)
    return der.publish(
        schedule.program,
        start=schedule.evening_start,
        duration=EVENING_DURATION_S,
        modes=REPLACEMENT,
        description="replacement",
    )


async def change_when_followed(site: Sep2Server, der: DerSite, schedule: DerSchedule) -> None:
    """Change the schedule CHANGE_AFTER_POLLS poll periods after a client first reads the program list."""
    while ("GET", PROGRAM_LIST_PATH) not in site.requests:
        await asyncio.sleep(WATCH_PERIOD_S)
    await asyncio.sleep(CHANGE_AFTER_POLLS * der.poll_rate / der.clock.speedup)
    replacement = change_schedule(der, schedule)
    print(f"DER CHANGE cancelled {schedule.discharge}, replacement {replacement}", flush=True)


@dataclass
class ResponseRefusingServer(Sep2Server):
    """The ``der-server-refuses-responses`` fault: a DERControlResponse POST is answered 400."""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path.startswith("/rsps/"):
            try:
                if r.identify(request.body) == r.element_name(r.DERControlResponse):
                    return HttpResponse.empty(HTTPStatus.BAD_REQUEST)
            except Sep2DecodeError:
                pass
        return await super().handle(request)


def der_server_site(settings: DeviceSettings, faults: frozenset[str]) -> tuple[Sep2Server, DerSite]:
    """The server and its DER site (hosting the clients' DER resources) for a PFE or BMS."""
    der = DerSite(SimClock(speedup=settings.sep2_clock_speedup))
    kind = ResponseRefusingServer if FAULT_REFUSE_RESPONSES in faults else Sep2Server
    site = kind(der.clock, registered_devices(settings), registration_pin=registration_pin(settings), der=der)
    return site, der


async def _run_utility(role: str, link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    site, der = der_server_site(settings, faults)
    schedule = utility_program(der, faults)
    change = asyncio.create_task(change_when_followed(site, der, schedule))
    try:
        await serve(role, link, settings, site)
    finally:
        change.cancel()
        await asyncio.gather(change, return_exceptions=True)


async def run_pfe_der_server(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """SIM_ROLES["pfe-server"]["der"]: the utility's DER server."""
    await _run_utility("pfe-server", link, settings, faults)


async def run_bms_der_server(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """SIM_ROLES["bms"]["der"]: the site controller's DER server."""
    await _run_utility("bms", link, settings, faults)


async def run_evse_der_authorizer(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """SIM_ROLES["evse"]["der"]: the EVSE as the J3072 authorizer of an EV's inverter."""
    site, der = der_server_site(settings, faults - {FAULT_REFUSE_RESPONSES})
    if FAULT_UNCHECKED in faults:
        der.set_default(J3072_PROGRAM, J3072_AUTHORIZED)
    await serve("evse", link, settings, site)
