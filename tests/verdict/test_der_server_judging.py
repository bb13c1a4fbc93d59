"""The DER server check kinds judge synthetic decrypted timelines (the tester as client, the DUT as
server): each passes a correct server and fails a broken one, naming the frames."""

from __future__ import annotations

from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.checks import der_server as ds
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))
SPEEDUP = 120.0
T0 = 1000.0
S0 = 1_767_225_600
POLL = 120
MRID_A = "A" * 32
MRID_B = "B" * 32
PREFIX = "J3072 authorization refused: "


def wall(server_s: float) -> float:
    return T0 + (server_s - S0) / SPEEDUP


class Timeline:
    """The tester's requests and the server DUT's answers on one connection."""

    def __init__(self) -> None:
        self.events: list[TimelineEvent] = []

    def _add(self, t: float, src: str, message: str, fields: dict[str, Any]) -> int:
        frame = len(self.events) + 1
        sport, dport = (50000, 8443) if src == TESTER else (8443, 50000)
        dst = DUT if src == TESTER else TESTER
        self.events.append(TimelineEvent(t, frame, src, dst, "HTTP", message, fields, None, sport, dport))
        return frame

    def get(self, server_s: float, path: str, root: str, resource: dict[str, Any], status: int = 200) -> int:
        t = wall(server_s)
        self._add(t - 0.001, TESTER, f"GET {path}", {"method": "GET", "path": path})
        fields = (
            {"status": status, "root": root, "resource": resource} if status == 200 else {"status": status}
        )
        return self._add(t, DUT, f"{status} {root}", fields)

    def write(self, server_s: float, method: str, path: str, root: str, status: int) -> tuple[int, int]:
        t = wall(server_s)
        request = self._add(t, TESTER, f"{method} {path}", {"method": method, "path": path, "root": root})
        return request, self._add(t + 0.001, DUT, str(status), {"status": status})

    def time(self, server_s: int) -> int:
        return self.get(server_s, "/tm", "Time", {"href": "/tm", "currentTime": server_s})

    def programs(self, server_s: float, primacy: Any = 10, default: bool = True) -> int:
        program: dict[str, Any] = {"href": "/derp/2", "mRID": "2" * 32, "primacy": primacy}
        if default:
            program["DefaultDERControlLink"] = {"href": "/derp/2/dderc"}
        body = {"href": "/derp", "pollRate": POLL, "all": 1, "DERProgram": [program]}
        return self.get(server_s, "/derp", "DERProgramList", body)

    def default(self, server_s: float, program: str = "/derp/2", **modes: Any) -> int:
        body = {"href": f"{program}/dderc", "mRID": "D" * 32, "DERControlBase": dict(modes)}
        return self.get(server_s, f"{program}/dderc", "DefaultDERControl", body)

    def controls(self, server_s: float, *controls: dict[str, Any]) -> int:
        body = {"href": "/derp/2/derc", "all": len(controls), "DERControl": list(controls)}
        return self.get(server_s, "/derp/2/derc", "DERControlList", body)

    def curve(self, server_s: float, href: str) -> int:
        return self.get(server_s, href, "DERCurve", {"href": href, "curveType": 0})

    def texts(self, server_s: float, *texts: str) -> int:
        listed = [{"href": f"/msg/1/txt/{i}", "textMessage": text} for i, text in enumerate(texts, 1)]
        return self.get(server_s, "/msg/1/txt", "TextMessageList", {"TextMessage": listed})


def control(
    mrid: str, start: int, duration: int, *, created: int = S0, status: int = 0, since: int = S0, **modes: Any
) -> dict[str, Any]:
    return {
        "href": f"/derp/2/derc/{mrid[0]}",
        "mRID": mrid,
        "creationTime": created,
        "EventStatus": {"currentStatus": status, "dateTime": since},
        "interval": {"start": start, "duration": duration},
        "DERControlBase": modes or {"opModFixedW": {"value": 5000}},
    }


def judge(check: Any, timeline: Timeline) -> Any:
    return evaluate(check.spec(), timeline.events, PARTIES)


# --- der_server_programs ---


def _tree(*controls: dict[str, Any], primacy: Any = 10, default: bool = True, curve: bool = True) -> Timeline:
    tl = Timeline()
    tl.time(S0)
    tl.programs(S0, primacy=primacy, default=default)
    if default:
        tl.default(S0, opModFreqWatt={"href": "/derp/2/dc/1"}, opModMaxLimW={"value": 10000})
    tl.controls(S0 + 1, *controls)
    if curve:
        tl.curve(S0 + 2, "/derp/2/dc/1")
    return tl


def test_a_well_formed_tree_passes():
    tl = _tree(control(MRID_A, S0 + 240, 1200), control(MRID_B, S0 + 240, 1200, created=S0 + 60))
    outcome = judge(ds.DerServerPrograms(), tl)
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_overlapping_controls_of_equal_primacy_and_creation_time_fail_with_the_frame():
    tl = _tree(control(MRID_A, S0 + 240, 1200), control(MRID_B, S0 + 600, 600))
    outcome = judge(ds.DerServerPrograms(), tl)
    assert outcome.verdict == Verdict.FAIL
    assert MRID_A in outcome.reason and MRID_B in outcome.reason and "opModFixedW" in outcome.reason
    assert outcome.frames


def test_overlap_for_different_modes_or_after_a_cancellation_passes():
    other_mode = control(MRID_B, S0 + 240, 1200, opModEnergize="false")
    assert (
        judge(ds.DerServerPrograms(), _tree(control(MRID_A, S0 + 240, 1200), other_mode)).verdict
        == Verdict.PASS
    )
    cancelled = control(MRID_B, S0 + 240, 1200, status=2)
    assert (
        judge(ds.DerServerPrograms(), _tree(control(MRID_A, S0 + 240, 1200), cancelled)).verdict
        == Verdict.PASS
    )


def test_a_missing_primacy_default_curve_or_duration_fails():
    cases = {
        "primacy": _tree(control(MRID_A, S0, 600), primacy=None),
        "DefaultDERControl": _tree(control(MRID_A, S0, 600), default=False),
        "DERCurve": _tree(control(MRID_A, S0, 600), curve=False),
        "duration 0": _tree(control(MRID_A, S0, 0)),
    }
    for word, tl in cases.items():
        outcome = judge(ds.DerServerPrograms(), tl)
        assert outcome.verdict == Verdict.FAIL and word in outcome.reason, (word, outcome.reason)


def test_no_program_is_the_missing_verdict():
    tl = Timeline()
    tl.time(S0)
    assert judge(ds.DerServerPrograms(on_missing=Verdict.INCONCLUSIVE), tl).verdict == Verdict.INCONCLUSIVE


# --- der_server_writes ---


def test_writes_answered_201_or_204_pass_and_a_refusal_fails_with_its_frames():
    tl = Timeline()
    tl.write(S0, "POST", "/rsps/2/rsp", "DERControlResponse", 201)
    assert judge(ds.DerServerWrites(ds.RESPONSE_WRITES), tl).verdict == Verdict.PASS
    request, answer = tl.write(S0 + 5, "POST", "/rsps/2/rsp", "DERControlResponse", 400)
    outcome = judge(ds.DerServerWrites(ds.RESPONSE_WRITES), tl)
    assert outcome.verdict == Verdict.FAIL and "400" in outcome.reason
    assert set(outcome.frames) == {request, answer}


def test_no_write_is_the_missing_verdict():
    tl = Timeline()
    tl.write(S0, "PUT", "/edev/1/der/1/ders", "DERStatus", 204)
    outcome = judge(ds.DerServerWrites(ds.DER_WRITES, on_missing=Verdict.INCONCLUSIVE), tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE and "DERCapability" in outcome.reason


# --- der_server_change ---


def _changed(served_at: int, since: int, *, revert: bool = False) -> Timeline:
    tl = Timeline()
    tl.time(S0)
    tl.programs(S0)
    tl.controls(S0 + 10, control(MRID_A, S0 + 240, 1200))
    tl.time(served_at)
    tl.controls(served_at, control(MRID_A, S0 + 240, 1200, status=2, since=since))
    if revert:
        tl.controls(served_at + POLL, control(MRID_A, S0 + 240, 1200, status=1))
    return tl


def test_a_cancellation_served_at_the_next_poll_passes():
    outcome = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 400, S0 + 350))
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_a_cancellation_served_late_or_reverted_fails():
    late = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 700, S0 + 350))
    assert late.verdict == Verdict.FAIL and "after its status dateTime" in late.reason
    reverted = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 400, S0 + 350, revert=True))
    assert reverted.verdict == Verdict.FAIL and "live again" in reverted.reason


def test_no_change_is_the_missing_verdict():
    tl = Timeline()
    tl.time(S0)
    tl.programs(S0)
    tl.controls(S0, control(MRID_A, S0 + 240, 1200))
    outcome = judge(ds.DerServerChange(SPEEDUP, on_missing=Verdict.INCONCLUSIVE), tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE


# --- der_authorization ---


def _authorization(before: str, after: str, texts: tuple[str, ...] = ()) -> Timeline:
    tl = Timeline()
    tl.time(S0)
    tl.default(S0, "/derp/1", opModEnergize=before)
    tl.write(S0 + 10, "PUT", "/edev/1/der/1/dercap", "DERCapability", 204)
    tl.write(S0 + 11, "PUT", "/edev/1/der/1/derg", "DERSettings", 204)
    tl.default(S0 + 130, "/derp/1", opModEnergize=after)
    tl.texts(S0 + 131, *texts)
    return tl


def _auth(outcome: str) -> ds.DerAuthorization:
    return ds.DerAuthorization("/derp/1", outcome, PREFIX)


def test_authorization_after_the_settings_passes_and_before_them_fails():
    assert judge(_auth(ds.AUTHORIZED), _authorization("false", "true")).verdict == Verdict.PASS
    early = judge(_auth(ds.AUTHORIZED), _authorization("true", "true"))
    assert early.verdict == Verdict.FAIL and "before the EV's settings" in early.reason
    never = judge(_auth(ds.AUTHORIZED), _authorization("false", "false"))
    assert never.verdict == Verdict.FAIL and "never carries opModEnergize true" in never.reason


def test_a_refusal_needs_a_reason_and_no_authorization():
    good = judge(_auth(ds.REFUSED), _authorization("false", "false", (PREFIX + "setMaxW too high",)))
    assert good.verdict == Verdict.PASS, good.reason
    silent = judge(_auth(ds.REFUSED), _authorization("false", "false", (PREFIX,)))
    assert silent.verdict == Verdict.FAIL and "reason" in silent.reason
    granted = judge(_auth(ds.REFUSED), _authorization("false", "true", (PREFIX + "x",)))
    assert granted.verdict == Verdict.FAIL and "authorized" in granted.reason


def test_authorization_not_looked_at_before_the_settings_is_the_missing_verdict():
    tl = Timeline()
    tl.time(S0)
    tl.write(S0 + 10, "PUT", "/edev/1/der/1/dercap", "DERCapability", 204)
    tl.write(S0 + 11, "PUT", "/edev/1/der/1/derg", "DERSettings", 204)
    tl.default(S0 + 130, "/derp/1", opModEnergize="true")
    check = ds.DerAuthorization("/derp/1", ds.AUTHORIZED, PREFIX, on_missing=Verdict.INCONCLUSIVE)
    outcome = judge(check, tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE and "before the EV's settings" in outcome.reason
