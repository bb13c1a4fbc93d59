"""The five verdicts of a conformance test and how they combine."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    # The test could not decide, e.g. the DUT never started the exchange under test.
    INCONCLUSIVE = "INCONCLUSIVE"
    # PICS or the lab's DUT roles say the feature under test is absent.
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # The harness itself failed; says nothing about the DUT.
    ERROR = "ERROR"

    @property
    def acceptable(self) -> bool:
        """Whether a campaign with this verdict may still exit 0."""
        return self in (Verdict.PASS, Verdict.NOT_APPLICABLE)


# When several checks judge one scenario, the worst one wins, in this order.
_SEVERITY = {
    Verdict.NOT_APPLICABLE: 0,
    Verdict.PASS: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.FAIL: 3,
    Verdict.ERROR: 4,
}


def combine(verdicts: list[Verdict]) -> Verdict:
    """The verdict of a scenario from its checks' verdicts; no checks at all is INCONCLUSIVE."""
    if not verdicts:
        return Verdict.INCONCLUSIVE
    return max(verdicts, key=_SEVERITY.__getitem__)


class Inconclusive(Exception):
    """Raised by a step when the test cannot decide, e.g. the DUT never started the exchange."""


class NotApplicable(Exception):
    """Raised when PICS or the lab's DUT roles say the scenario does not apply."""
