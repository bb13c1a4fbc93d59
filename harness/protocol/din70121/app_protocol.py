"""supportedAppProtocol negotiation of a DC session (ISO 15118-2 8.2 / DIN SPEC 70121 8.2): DIN SPEC 70121,
ISO 15118-2, or whichever of them both sides have, by the EVCC's priority.

Pure functions used by both machines: the EVCC offers its protocols, the SECC picks one from the offer,
the EVCC checks the answer against its offer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.protocol.din70121.messages import (
    DIN_NAMESPACE,
    DIN_VERSION_MAJOR,
    DIN_VERSION_MINOR,
    AppProtocolResponseCode,
    Message,
    app_protocol_entry,
)


@dataclass(frozen=True, slots=True)
class SupportedProtocol:
    namespace: str = DIN_NAMESPACE
    major: int = DIN_VERSION_MAJOR
    minor: int = DIN_VERSION_MINOR


@dataclass(frozen=True, slots=True)
class Negotiation:
    code: AppProtocolResponseCode
    schema_id: int | None
    namespace: str | None

    @property
    def ok(self) -> bool:
        return self.code is not AppProtocolResponseCode.Failed_NoNegotiation


def negotiate(
    request: Mapping[str, Any], supported: Sequence[SupportedProtocol] = (SupportedProtocol(),)
) -> Negotiation:
    """The SECC's choice: among the offered AppProtocols with a supported namespace and major version, the one
    with the best (lowest) Priority; an exact minor version is OK_SuccessfulNegotiation, another minor version
    is OK_SuccessfulNegotiationWithMinorDeviation, no match is Failed_NoNegotiation."""
    offers = request.get("AppProtocol", [])
    if isinstance(offers, Mapping):
        offers = [offers]
    candidates: list[tuple[int, Mapping[str, Any], SupportedProtocol]] = []
    for offer in offers:
        for protocol in supported:
            if (
                offer.get("ProtocolNamespace") == protocol.namespace
                and offer.get("VersionNumberMajor") == protocol.major
            ):
                candidates.append((int(offer.get("Priority", 20)), offer, protocol))
    if not candidates:
        return Negotiation(AppProtocolResponseCode.Failed_NoNegotiation, None, None)
    _, offer, protocol = min(candidates, key=lambda item: item[0])
    code = (
        AppProtocolResponseCode.OK_SuccessfulNegotiation
        if offer.get("VersionNumberMinor") == protocol.minor
        else AppProtocolResponseCode.OK_SuccessfulNegotiationWithMinorDeviation
    )
    return Negotiation(code, int(offer["SchemaID"]), protocol.namespace)


def offer(protocols: Sequence[tuple[SupportedProtocol, int]]) -> Message:
    """The EVCC's supportedAppProtocolReq: (protocol, SchemaID) most preferred first (Priority 1, 2, ...)."""
    entries = [
        app_protocol_entry(protocol.namespace, protocol.major, protocol.minor, schema_id, priority)
        for priority, (protocol, schema_id) in enumerate(protocols, start=1)
    ]
    return {"supportedAppProtocolReq": {"AppProtocol": entries}}


def accepted(response: Mapping[str, Any], offered_schema_ids: Sequence[int]) -> int | None:
    """The EVCC's check: the SchemaID of the protocol a successful answer chose among those it offered;
    None for a failed negotiation or a SchemaID it never offered."""
    code = response.get("ResponseCode")
    if code not in (
        AppProtocolResponseCode.OK_SuccessfulNegotiation,
        AppProtocolResponseCode.OK_SuccessfulNegotiationWithMinorDeviation,
    ):
        return None
    schema_id = response.get("SchemaID")
    return schema_id if schema_id in offered_schema_ids else None
