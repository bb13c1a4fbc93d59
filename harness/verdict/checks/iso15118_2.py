"""Check builders for ISO 15118-2 DC charging (external identification).

ISO 15118-2 messages appear on the timeline with protocol ``ISO-2``; their shape is DIN SPEC 70121's
(``V2G_Message.Body.<name>.<field>``), so the DIN builders serve with ``protocol=ISO2``.
"""

from __future__ import annotations

from typing import Final

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

# The ISO 15118-2 DC (EIM) session's requests as a sequence pattern: (name, min, max), None unbounded
# (ISO 15118-2 8.4: ServiceDetail is optional and may repeat; Authorization, ChargeParameterDiscovery,
# CableCheck, PreCharge and WeldingDetection may repeat; CurrentDemand loops).
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = (
    ("supportedAppProtocolReq", 1, 1),
    ("SessionSetupReq", 1, 1),
    ("ServiceDiscoveryReq", 1, 1),
    ("ServiceDetailReq", 0, None),
    ("PaymentServiceSelectionReq", 1, 1),
    ("AuthorizationReq", 1, None),
    ("ChargeParameterDiscoveryReq", 1, None),
    ("CableCheckReq", 1, None),
    ("PreChargeReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("CurrentDemandReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("WeldingDetectionReq", 0, None),
    ("SessionStopReq", 1, 1),
)
# The requests every regular ISO 15118-2 DC session has (ServiceDetail and WeldingDetection may be left
# out).
REQUIRED_REQUESTS: tuple[str, ...] = tuple(
    dict.fromkeys(name for name, low, _ in SESSION_PATTERN if low > 0 and name != "supportedAppProtocolReq")
)
