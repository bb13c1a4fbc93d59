"""supportedAppProtocol negotiation for a DIN SPEC 70121 session (ISO 15118-2 8.2 / DIN SPEC 70121 8.2).

Pure functions used by both machines: the SECC picks a protocol from the EVCC's offer, the EVCC checks the
answer against its offer.
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


def accepted(response: Mapping[str, Any], offered_schema_id: int) -> bool:
    """The EVCC's check: a successful code that names the schema it offered for DIN SPEC 70121."""
    code = response.get("ResponseCode")
    return (
        code
        in (
            AppProtocolResponseCode.OK_SuccessfulNegotiation,
            AppProtocolResponseCode.OK_SuccessfulNegotiationWithMinorDeviation,
        )
        and response.get("SchemaID") == offered_schema_id
    )
