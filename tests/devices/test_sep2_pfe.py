"""The reference PFE server's resource tree and request handling, called directly (no sockets)."""

from __future__ import annotations

import asyncio

from harness.codec.sep2 import resources as r
from harness.codec.sep2.schema import validate
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.pfe import TARIFFS, Sep2Server
from harness.testers.sep2 import ENTITY_EXPANSION, MALFORMED_XML, SCHEMA_INVALID, _links
from harness.transport.http import HttpRequest, PeerInfo
from harness.transport.tls import NegotiatedTls

LFDI = "AB" * 20
OTHER = "CD" * 20
TLS = NegotiatedTls("TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", 128)


def _request(
    method: str, target: str, body: bytes = b"", lfdi: str = LFDI, content_type: str = "application/sep+xml"
):
    headers = (("Content-Type", content_type),) if body else ()
    peer = PeerInfo(("::1", 1), TLS, lfdi, None)
    return asyncio.run(Sep2Server.handle(_SITE, HttpRequest(method, target, headers, body, peer=peer)))


_SITE = Sep2Server(SimClock(), {LFDI: "ev"})


def test_every_linked_resource_is_served_schema_valid() -> None:
    seen, queue = set(), ["/dcap"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = _request("GET", path)
        assert response.status == 200, path
        assert validate(response.body) == [], path
        queue.extend(_links(response.body))
    assert {"/tm", "/edev", "/edev/1/fsa", "/tp/1/rc/1/tti", "/dr/1/edc", "/msg/1/txt", "/mup"} <= seen


def test_tariff_covers_the_next_24_hours_and_dr_events_appear() -> None:
    intervals = r.parse_resource(_request("GET", "/tp/1/rc/1/tti").body, r.TimeTariffIntervalList)
    assert len(intervals.time_tariff_interval) == 24 and all(len(p) == 24 for p in TARIFFS.values())
    event = _SITE.add_dr_event(_SITE.clock.now(), 3600)
    controls = r.parse_resource(_request("GET", "/dr/1/edc").body, r.EndDeviceControlList)
    assert controls.end_device_control[-1].duty_cycle.normal_value == event.duty_cycle_percent


def test_status_codes_for_bad_requests() -> None:
    assert _request("GET", "/dcap", lfdi=OTHER).status == 403
    assert _request("GET", "/nowhere").status == 404
    assert _request("DELETE", "/dcap").status == 405
    for body in (MALFORMED_XML, SCHEMA_INVALID, ENTITY_EXPANSION):
        assert _request("POST", "/edev/1/frq", body).status == 400
    time_body = _request("GET", "/tm").body
    assert _request("POST", "/mup", time_body, content_type="application/json").status == 415
    assert _request("GET", "/dcap").status == 200  # still serving
