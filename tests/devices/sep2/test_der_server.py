"""The reference DER servers as DUTs (PFE/BMS programs and their change, the EVSE authorizer) and their
faults, called directly on a frozen simulated clock (no sockets)."""

from __future__ import annotations

import asyncio

from harness.codec.sep2 import resources as r
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.der_server import (
    DISCHARGE_START_S,
    EVENING_START_S,
    FAULT_OVERLAP,
    REPLACEMENT,
    ResponseRefusingServer,
    change_schedule,
    utility_program,
)
from harness.devices.sep2.der_site import DerSite
from harness.devices.sep2.pfe import Sep2Server
from harness.protocol.sep2 import der_convert
from harness.protocol.sep2.der_model import DerControlResponse, ResponseStatus
from harness.transport.http import HttpRequest, PeerInfo
from harness.transport.tls import NegotiatedTls

LFDI = "AB" * 20
T0 = 1_767_225_600
TLS = NegotiatedTls("TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", 128)


def _der() -> DerSite:
    return DerSite(SimClock(start=T0, speedup=0.0))


def test_the_utility_program_has_a_default_a_curve_and_two_discharges():
    der = _der()
    schedule = utility_program(der, frozenset())
    assert schedule.program == 2
    assert der.body("/derp/2/dc/1", 1) is not None  # the curve the default names is served
    default = der_convert.program_from_resource(der.get("/derp/2", 1), der.get("/derp/2/dderc", 1)).default
    assert default is not None and default.modes["opModFreqWatt"] == "/derp/2/dc/1"
    controls = der.snapshot().controls
    assert sorted(c.start - T0 for c in controls) == [DISCHARGE_START_S, EVENING_START_S]


def test_the_overlap_fault_adds_a_control_of_the_same_window_mode_and_creation_time():
    der = _der()
    schedule = utility_program(der, frozenset({FAULT_OVERLAP}))
    controls = {c.mrid: c for c in der.snapshot().controls}
    first = controls[schedule.discharge]
    twins = [
        c
        for c in controls.values()
        if c.mrid != first.mrid
        and (c.start, c.duration, c.creation_time) == (first.start, first.duration, first.creation_time)
        and set(c.modes) & set(first.modes)
    ]
    assert len(twins) == 1


def test_the_change_cancels_the_first_discharge_and_replaces_the_second_with_a_newer_control():
    der = _der()
    schedule = utility_program(der, frozenset())
    der.clock.start = T0 + 360  # the operator changes the schedule later
    replacement = change_schedule(der, schedule)
    controls = {c.mrid: c for c in der.snapshot().controls}
    assert controls[schedule.discharge].current_status == 2
    evening, new = controls[schedule.evening], controls[replacement]
    assert (new.start, new.duration) == (evening.start, evening.duration)
    assert new.creation_time > evening.creation_time
    assert new.modes == REPLACEMENT


def _post_response(server: Sep2Server, mrid: str) -> int:
    body = r.serialise(
        der_convert.response_resource(DerControlResponse(mrid, ResponseStatus.EVENT_RECEIVED, T0, LFDI))
    )
    headers = (("Content-Type", "application/sep+xml"),)
    request = HttpRequest("POST", "/rsps/2/rsp", headers, body, peer=PeerInfo(("::1", 1), TLS, LFDI, None))
    return asyncio.run(server.handle(request)).status


def test_the_refusing_server_answers_400_to_responses_and_the_good_one_201():
    for kind, status in ((Sep2Server, 201), (ResponseRefusingServer, 400)):
        der = _der()
        schedule = utility_program(der, frozenset())
        server = kind(der.clock, {LFDI: "ev"}, der=der)
        assert _post_response(server, schedule.discharge) == status, kind.__name__
