"""Check builders for IEEE 2030.5 DER clients (an EV's on-board inverter) judged from the decrypted
capture: the DER kinds of :mod:`harness.verdict.der_judging` and the requirement ids they cite.

Times in these specs are server seconds (the lab clock may run ``speedup`` times the wall clock,
README AC DER "Clock"); powers are W.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from harness.verdict.checks.common import UNSET, Check, Selector, _Unset, select
from harness.verdict.checks.requirements import requirement
from harness.verdict.verdicts import Verdict

HTTP: Final = "HTTP"
# README AC DER: the J3072 authorization program, the program list and the message replyTo.
J3072_PROGRAM_HREF: Final = "/derp/1"
PROGRAM_LIST_PATH: Final = "/derp"
MESSAGE_REPLY_TO: Final = "/rsps/msg/rsp"
# README AC DER: three failed polls in a row are a loss of communication (harness rule).
COMM_LOSS_POLLS: Final = 3
# sep.xsd DERType 81: electric vehicle [unverified code, REFERENCE-DER.md section 1].
DER_TYPE_EV: Final = 81
# IEEE 2030.5 response status codes the DER scenarios name (REFERENCE-DER.md section 1).
STATUS_RECEIVED: Final = 1
STATUS_STARTED: Final = 2
STATUS_COMPLETED: Final = 3
STATUS_OPTED_OUT: Final = 4
STATUS_CANCELLED: Final = 6
STATUS_SUPERSEDED: Final = 7
STATUS_PARTIAL_OPT_OUT: Final = 8
STATUS_NOT_SUPPORTED: Final = 251
STATUS_NOT_APPLICABLE: Final = 252
STATUS_EXPIRED: Final = 254
# TextResponse status 1: message received (README AC DER "Messages").
TEXT_RECEIVED: Final = 1

DER_CLIENT_01 = requirement("DER-CLIENT-01")
DER_CLIENT_02 = requirement("DER-CLIENT-02")
DER_EV_01 = requirement("DER-EV-01")
DER_EV_02 = requirement("DER-EV-02")
DER_J3072_01 = requirement("DER-J3072-01")
DER_J3072_02 = requirement("DER-J3072-02")
DER_MSG_01 = requirement("DER-MSG-01")
DER_RSP_01 = requirement("DER-RSP-01")
DER_RSP_02 = requirement("DER-RSP-02")
DER_METER_01 = requirement("DER-METER-01")
DER_CTL_01 = requirement("DER-CTL-01")
DER_CTL_02 = requirement("DER-CTL-02")
DER_CTL_03 = requirement("DER-CTL-03")
DER_CTL_04 = requirement("DER-CTL-04")
DER_EVT_01 = requirement("DER-EVT-01")
DER_EVT_02 = requirement("DER-EVT-02")
DER_EVT_03 = requirement("DER-EVT-03")
DER_EVT_04 = requirement("DER-EVT-04")
DER_EVT_05 = requirement("DER-EVT-05")
DER_EVT_06 = requirement("DER-EVT-06")
DER_USER_01 = requirement("DER-USER-01")
DER_POLL_01 = requirement("DER-POLL-01")
DER_COMM_01 = requirement("DER-COMM-01")
DER_CTL_05 = requirement("DER-CTL-05")
DER_CTL_06 = requirement("DER-CTL-06")
DER_CTL_07 = requirement("DER-CTL-07")
DER_METER_02 = requirement("DER-METER-02")
DER_DRLC_01 = requirement("DER-DRLC-01")
DER_FLOW_01 = requirement("DER-FLOW-01")


def written(method: str, root: str, *, sender: str | None = None, path: str | None = None) -> Selector:
    """A decrypted request with a ``root`` body (``PUT`` DERSettings, ``POST`` TextResponse ...)."""
    where: dict[str, Any] = {"method": method, "root": root}
    if path is not None:
        where["path"] = path
    return select(HTTP, sender=sender, where=where)


def served(root: str, *, sender: str | None = None) -> Selector:
    """A 200 response whose body is a ``root`` (DERProgramList, DefaultDERControl ...)."""
    return select(HTTP, f"200 {root}", sender=sender)


@dataclass(frozen=True, slots=True)
class DerResponses(Check):
    """The DUT's DERControlResponses against the oracle over what the capture shows published."""

    kind: ClassVar[str] = "der_responses"
    speedup: float
    slack_s: float | _Unset = UNSET
    poll_period_s: float | _Unset = UNSET
    published: tuple[str, ...] | _Unset = UNSET
    require: Mapping[str, tuple[int, ...]] | _Unset = UNSET
    user_choices: bool | _Unset = UNSET
    server_revision: int | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET

    def spec(self) -> dict[str, Any]:
        out = Check.spec(self)
        if "require" in out:  # lists in JSON
            out["require"] = {mrid: list(statuses) for mrid, statuses in out["require"].items()}
        return out


@dataclass(frozen=True, slots=True)
class DerPower(Check):
    """The DUT's real-power readings against what the modes in effect allow (``rules``)."""

    kind: ClassVar[str] = "der_power"
    speedup: float
    rules: tuple[str, ...]
    tolerance_w: float | _Unset = UNSET
    settle_s: float | _Unset = UNSET
    authorization_program: str | _Unset = UNSET
    comm_loss_polls: int | _Unset = UNSET
    pf_tolerance: float | _Unset = UNSET
    var_tolerance: float | _Unset = UNSET
    min_grid_points: int | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class DerPollRate(Check):
    """After the server announces ``poll_rate_s``, the DUT polls its program list no faster."""

    kind: ClassVar[str] = "der_poll_rate"
    speedup: float
    poll_rate_s: int
    tolerance_s: float | _Unset = UNSET
    min_polls: int | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
