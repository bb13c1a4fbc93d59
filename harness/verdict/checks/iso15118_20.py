"""Check builders for ISO 15118-20 DC and DC_BPT (external identification).

-20 messages appear on the timeline with protocol ``ISO-20`` (CommonMessages and DC alike) and the
supportedAppProtocol handshake with ``AppProtocol``; a -20 message's fields are ``<name>.<field>``
(``SessionSetupRes.ResponseCode``, ``DC_ChargeLoopRes.Header.SessionID``), as ``vgi analyze --json`` shows.
"""

from __future__ import annotations

from typing import Any, Final

from harness.verdict.checks.common import (
    Fields,
    Item,
    Present,
    ResponseTime,
    Selector,
    Sequence,
    between,
    prefix,
    select,
)
from harness.verdict.checks.requirements import requirement
from harness.verdict.verdicts import Verdict

ISO20: Final = "ISO-20"
APP_PROTOCOL: Final = "AppProtocol"

ISO20_SECC_01 = requirement("ISO20-SECC-01")
ISO20_SECC_02 = requirement("ISO20-SECC-02")
ISO20_SECC_03 = requirement("ISO20-SECC-03")
ISO20_SECC_04 = requirement("ISO20-SECC-04")
ISO20_SECC_05 = requirement("ISO20-SECC-05")
ISO20_SECC_06 = requirement("ISO20-SECC-06")
ISO20_SECC_07 = requirement("ISO20-SECC-07")
ISO20_SECC_08 = requirement("ISO20-SECC-08")
ISO20_SECC_TIME_01 = requirement("ISO20-SECC-TIME-01")
ISO20_EVCC_01 = requirement("ISO20-EVCC-01")
ISO20_EVCC_02 = requirement("ISO20-EVCC-02")
ISO20_EVCC_03 = requirement("ISO20-EVCC-03")
ISO20_EVCC_04 = requirement("ISO20-EVCC-04")
ISO20_EVCC_05 = requirement("ISO20-EVCC-05")
ISO20_EVCC_06 = requirement("ISO20-EVCC-06")
ISO20_EVCC_07 = requirement("ISO20-EVCC-07")
ISO20_BPT_01 = requirement("ISO20-BPT-01")
ISO20_BPT_02 = requirement("ISO20-BPT-02")
ISO20_BPT_03 = requirement("ISO20-BPT-03")
ISO20_BPT_04 = requirement("ISO20-BPT-04")
ISO20_BPT_05 = requirement("ISO20-BPT-05")

# A scheduled DC / DC_BPT session with EIM as the EVCC's requests (name, min, max; None unbounded): ISO
# 15118-20 8.8's order, Authorization and ScheduleExchange repeated while Ongoing, ServiceDetail optional
# and repeatable, WeldingDetection optional.
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = (
    ("supportedAppProtocolReq", 1, 1),
    ("SessionSetupReq", 1, 1),
    ("AuthorizationSetupReq", 1, 1),
    ("AuthorizationReq", 1, None),
    ("ServiceDiscoveryReq", 1, 1),
    ("ServiceDetailReq", 0, None),
    ("ServiceSelectionReq", 1, 1),
    ("DC_ChargeParameterDiscoveryReq", 1, 1),
    ("ScheduleExchangeReq", 1, None),
    ("DC_CableCheckReq", 1, None),
    ("DC_PreChargeReq", 1, None),
    # PowerDeliveryReq(Start) repeats while the EV says EVProcessing Ongoing (josev's EV sends two so).
    ("PowerDeliveryReq", 1, None),
    ("DC_ChargeLoopReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("DC_WeldingDetectionReq", 0, None),
    ("SessionStopReq", 1, 1),
)
# The requests every regular -20 DC session has, beside supportedAppProtocolReq.
REQUIRED_REQUESTS: tuple[str, ...] = tuple(
    dict.fromkeys(name for name, low, _ in SESSION_PATTERN if low > 0 and name != "supportedAppProtocolReq")
)


def response_to(request: str) -> str:
    return request[:-3] + "Res"


def protocol_of(name: str) -> str:
    return APP_PROTOCOL if name.startswith("supportedAppProtocol") else ISO20


def field_path(name: str, field: str) -> str:
    """The dotted path of ``field`` (itself dotted for nested ones) in -20 message ``name``."""
    return f"{name}.{field}"


def session_id_path(name: str) -> str:
    return field_path(name, "Header.SessionID")


def iso20(name: str, sender: str | None = None, where: dict[str, Any] | None = None) -> Selector:
    """-20 (or supportedAppProtocol) message ``name`` from ``sender``."""
    return select(protocol_of(name), name, sender=sender, where=where or None)


def fields(name: str, **values: Any) -> dict[str, Any]:
    """Predicates on fields of ``name`` by their (dotted) names, ``__`` standing for a dot."""
    return {field_path(name, key.replace("__", ".")): value for key, value in values.items()}


def session_sequence(
    sender: str, pattern: tuple[tuple[str, int, int | None], ...] = SESSION_PATTERN
) -> Sequence:
    """``sender``'s requests (or, given the responses' names, responses) in the -20 session order."""
    return Sequence(tuple(Item(iso20(name, sender), low, high) for name, low, high in pattern))


def responses_of(sender: str) -> Sequence:
    """The responses to a regular session's requests, one each, in order, from ``sender``."""
    pattern = tuple((response_to(name), low, high) for name, low, high in SESSION_PATTERN)
    return session_sequence(sender, pattern)


def ok_with_session(request: str, sender: str, session: dict[str, Any]) -> Fields:
    """Every response to ``request`` says OK* and carries the session's SessionID."""
    name = response_to(request)
    where = {field_path(name, "ResponseCode"): prefix("OK"), session_id_path(name): session}
    return Fields(iso20(name, sender), where, on_missing=Verdict.FAIL)


def answered_with(request: str, sender: str, code: str) -> Present:
    """A response to ``request`` from ``sender`` with ResponseCode ``code``."""
    name = response_to(request)
    return Present(
        iso20(name, sender, {field_path(name, "ResponseCode"): code}), min=1, on_missing=Verdict.FAIL
    )


def performance_time(request: str, requester: str, responder: str, max_s: float) -> ResponseTime:
    """Every ``request`` answered within ``max_s`` on the wire."""
    return ResponseTime(
        iso20(request, requester), iso20(response_to(request), responder), max_s, on_missing=Verdict.FAIL
    )


def loop_answers_within(requester: str, responder: str, timeout_s: float) -> ResponseTime:
    """Precondition of a full session with an EVCC under test: the tester SECC answered every
    DC_ChargeLoopReq within the EVCC's charge-loop timeout (so a session the EVCC ended early is its own
    doing); INCONCLUSIVE otherwise.  An EVCC that never reached the charge loop asked nothing the tester
    could have answered late: met (the session's sequence check says where the EVCC stopped)."""
    request = "DC_ChargeLoopReq"
    return ResponseTime(
        iso20(request, requester),
        iso20(response_to(request), responder),
        timeout_s,
        on_missing=Verdict.PASS,
        precondition=True,
    )


def negative(name: str, quantity: str) -> dict[str, Any]:
    """A RationalNumber field ``quantity`` of ``name`` below zero (Value < 0; the Exponent only scales)."""
    return {field_path(name, f"{quantity}.Value"): between(-32768, -1)}


def at_least(path: str, low: float) -> dict[str, Any]:
    return {path: between(low, 100)}
