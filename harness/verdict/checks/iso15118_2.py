"""Check builders for ISO 15118-2 DC charging (external identification).

ISO 15118-2 messages appear on the timeline with protocol ``ISO-2``; their shape is DIN SPEC 70121's
(``V2G_Message.Body.<name>.<field>``), so the DIN builders serve with ``protocol=ISO2``.
"""

from __future__ import annotations

from typing import Final

from harness.protocol.iso15118_2.profile import ISO2 as ISO2_PROFILE
from harness.verdict.checks.din70121 import SESSION_PATTERN as SESSION_PATTERN_DIN
from harness.verdict.checks.requirements import requirement

ISO2: Final = "ISO-2"

ISO2_SECC_01 = requirement("ISO2-SECC-01")
ISO2_SECC_02 = requirement("ISO2-SECC-02")
ISO2_SECC_03 = requirement("ISO2-SECC-03")
ISO2_SECC_04 = requirement("ISO2-SECC-04")
ISO2_SECC_05 = requirement("ISO2-SECC-05")
ISO2_SECC_06 = requirement("ISO2-SECC-06")
ISO2_SECC_TIME_01 = requirement("ISO2-SECC-TIME-01")
ISO2_EVCC_01 = requirement("ISO2-EVCC-01")
ISO2_EVCC_02 = requirement("ISO2-EVCC-02")
ISO2_EVCC_03 = requirement("ISO2-EVCC-03")

# The ISO 15118-2 DC (EIM) session's requests as a sequence pattern: (name, min, max), None unbounded.
# DIN SPEC 70121's (harness.verdict.checks.din70121) in ISO 15118-2's names, with the optional and
# repeatable ServiceDetail after ServiceDiscovery (ISO 15118-2 8.4).
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = tuple(
    item
    for name, low, high in SESSION_PATTERN_DIN
    for item in (
        [(ISO2_PROFILE.wire(name), low, high)]
        + ([("ServiceDetailReq", 0, None)] if name == "ServiceDiscoveryReq" else [])
    )
)
# The requests every regular ISO 15118-2 DC session has (ServiceDetail and WeldingDetection may be left
# out).
REQUIRED_REQUESTS: tuple[str, ...] = tuple(
    dict.fromkeys(name for name, low, _ in SESSION_PATTERN if low > 0 and name != "supportedAppProtocolReq")
)
