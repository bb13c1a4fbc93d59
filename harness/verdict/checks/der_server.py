"""Check builders for IEEE 2030.5 DER servers (a PFE/BMS, an EVSE as J3072 authorizer) judged from the
decrypted capture of the tester following them: the kinds of :mod:`harness.verdict.der_server_judging`
and the requirement ids they cite.  Times are server seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from harness.verdict.checks.common import UNSET, Check, _Unset
from harness.verdict.checks.requirements import requirement
from harness.verdict.verdicts import Verdict

# The J3072 authorization program of a DER site (README AC DER) and the refusal text's start
# (harness rule, harness.protocol.sep2.j3072.REFUSAL_PREFIX).
AUTHORIZED: Final = "authorized"
REFUSED: Final = "refused"
# What the tester, as a DER client, writes to the server (README AC DER "EV DER behaviour").
DER_WRITES: Final = ("DERCapability", "DERSettings", "DERStatus", "DERAvailability")
RESPONSE_WRITES: Final = ("DERControlResponse",)

DER_SERVER_01 = requirement("DER-SERVER-01")
DER_SERVER_02 = requirement("DER-SERVER-02")
DER_SERVER_03 = requirement("DER-SERVER-03")
DER_SERVER_04 = requirement("DER-SERVER-04")
DER_EVSE_01 = requirement("DER-EVSE-01")
DER_EVSE_02 = requirement("DER-EVSE-02")


@dataclass(frozen=True, slots=True)
class DerServerPrograms(Check):
    """Programs with primacy and defaults, controls with valid times and no ambiguous overlap, curves."""

    kind: ClassVar[str] = "der_server_programs"
    on_missing: Verdict | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class DerServerWrites(Check):
    """Every PUT/POST of the tester with one of ``roots`` is answered 201/204."""

    kind: ClassVar[str] = "der_server_writes"
    roots: tuple[str, ...]
    on_missing: Verdict | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class DerServerChange(Check):
    """A control the server cancels or supersedes is served so within one poll and never reverts."""

    kind: ClassVar[str] = "der_server_change"
    speedup: float
    slack_s: float | _Unset = UNSET
    poll_period_s: float | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class DerAuthorization(Check):
    """The J3072 program's default: no authorization before the settings, then ``outcome``."""

    kind: ClassVar[str] = "der_authorization"
    program: str
    outcome: str
    refusal_prefix: str
    on_missing: Verdict | _Unset = UNSET
