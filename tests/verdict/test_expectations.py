"""The verdict engine over hand-made timelines: each kind of expectation passes and fails."""

from capture.timeline import TimelineEvent
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict, combine

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))


def ev(t, frame, src, dst, message, protocol="SDP", error=None, sport=None, dport=None, **fields):
    return TimelineEvent(t, frame, src, dst, protocol, message, fields, error, sport, dport)


REQ = {"protocol": "SDP", "message": "SECCDiscoveryReq"}
RES = {"protocol": "SDP", "message": "SECCDiscoveryRes"}


def sdp_exchange(delay):
    return [
        ev(0.0, 1, TESTER, "ff02::1", "SECCDiscoveryReq", sport=5000, dport=15118),
        ev(delay, 2, DUT, TESTER, "SECCDiscoveryRes", sport=15118, dport=5000, SECCPort=50000),
    ]


def test_response_time_pass_and_fail_with_measured_delay():
    spec = {
        "kind": "response_time",
        "request": {**REQ, "from": "tester"},
        "response": {**RES, "from": "dut"},
        "max_s": 0.25,
    }
    ok = evaluate(spec, sdp_exchange(0.010), PARTIES)
    assert ok.verdict == Verdict.PASS and ok.frames == (1, 2)
    late = evaluate(spec, sdp_exchange(0.300), PARTIES)
    assert late.verdict == Verdict.FAIL and "300.0 ms" in late.reason and "250.0 ms" in late.reason


def test_response_to_another_port_is_not_an_answer():
    events = sdp_exchange(0.01)
    events[1] = ev(0.01, 2, DUT, TESTER, "SECCDiscoveryRes", sport=15118, dport=5001)
    spec = {"kind": "response_time", "request": REQ, "response": RES, "max_s": 0.25}
    assert evaluate(spec, events, PARTIES).verdict == Verdict.FAIL


def test_missing_request_uses_on_missing():
    spec = {
        "kind": "response_time",
        "request": REQ,
        "response": RES,
        "max_s": 0.25,
        "on_missing": "INCONCLUSIVE",
    }
    assert evaluate(spec, [], PARTIES).verdict == Verdict.INCONCLUSIVE


def test_fields_predicates():
    spec = {"kind": "fields", "select": RES, "where": {"SECCPort": {"range": [49152, 65535]}}}
    assert evaluate(spec, sdp_exchange(0.01), PARTIES).verdict == Verdict.PASS
    spec["where"] = {"SECCPort": {"range": [60000, 65535]}}
    out = evaluate(spec, sdp_exchange(0.01), PARTIES)
    assert out.verdict == Verdict.FAIL and "SECCPort is 50000" in out.reason


def test_interval_with_tolerance():
    events = [ev(i * 0.249, i + 1, DUT, "ff02::1", "SECCDiscoveryReq") for i in range(3)]
    spec = {"kind": "interval", "select": REQ, "min_s": 0.25}
    assert evaluate(spec, events, PARTIES).verdict == Verdict.FAIL
    assert evaluate({**spec, "tolerance_s": 0.002}, events, PARTIES).verdict == Verdict.PASS


def test_no_response_window():
    malformed = ev(0.0, 1, TESTER, "ff02::1", "malformed", error="bad", sport=5000, dport=15118)
    answer = ev(0.1, 2, DUT, TESTER, "SECCDiscoveryRes", sport=15118, dport=5000)
    spec = {
        "kind": "no_response",
        "request": {"protocol": "SDP", "error": True},
        "response": RES,
        "window_s": 0.5,
    }
    assert evaluate(spec, [malformed], PARTIES).verdict == Verdict.PASS
    assert evaluate(spec, [malformed, answer], PARTIES).verdict == Verdict.FAIL


def test_sequence_with_repetition():
    pattern = [
        {"select": {**REQ, "from": "dut"}, "min": 1, "max": None},
        {"select": {**RES, "from": "tester"}},
        {"select": {"protocol": "TCP", "message": "SYN", "from": "dut"}},
    ]
    good = [
        ev(0, 1, DUT, "ff02::1", "SECCDiscoveryReq"),
        ev(0.25, 2, DUT, "ff02::1", "SECCDiscoveryReq"),
        ev(0.26, 3, TESTER, DUT, "SECCDiscoveryRes"),
        ev(0.3, 4, DUT, TESTER, "SYN", protocol="TCP"),
    ]
    spec = {"kind": "sequence", "pattern": pattern}
    assert evaluate(spec, good, PARTIES).verdict == Verdict.PASS
    late_request = [*good, ev(0.5, 5, DUT, "ff02::1", "SECCDiscoveryReq")]
    out = evaluate(spec, late_request, PARTIES)
    assert out.verdict == Verdict.FAIL and "SECCDiscoveryReq x2" in out.reason


def test_present_count_bounds():
    events = [ev(i, i + 1, DUT, "ff02::1", "SECCDiscoveryReq") for i in range(51)]
    spec = {"kind": "present", "select": {**REQ, "from": "dut"}, "min": 1, "max": 50}
    out = evaluate(spec, events, PARTIES)
    assert out.verdict == Verdict.FAIL and "51" in out.reason
    assert evaluate(spec, events[:50], PARTIES).verdict == Verdict.PASS


def test_too_many_malformed_frames_say_why_the_first_did_not_decode():
    error = "EXI decode error at bit 644: undeclared event SE(*) is not supported"
    events = [ev(0.5, 15, DUT, TESTER, "malformed", "DIN", error=error, length=118)]
    spec = {"kind": "present", "select": {"message": "malformed", "from": "dut"}, "min": 0, "max": 0}
    out = evaluate(spec, events, PARTIES)
    assert out.verdict == Verdict.FAIL and out.frames == (15,)
    assert f"(frame 15: {error}), at most 0 allowed" in out.reason


def test_a_present_check_on_the_first_connection_ignores_a_later_session():
    # A FAILED response on the first connection; the DUT ends that session and opens a new one.
    def request(t, frame, sport):
        return ev(t, frame, DUT, TESTER, "SessionSetupReq", "DIN", sport=sport, dport=50000)

    first = [ev(0.0, 1, DUT, TESTER, "supportedAppProtocolReq", "SAP", sport=61000, dport=50000)]
    first.append(request(0.1, 2, 61000))
    later = [request(5.0, 3, 61001)]
    spec = {
        "kind": "present",
        "select": {"protocol": "DIN", "message": "SessionSetupReq", "from": "dut"},
        "max": 1,
        "connection": "first",
    }
    assert evaluate(spec, first + later, PARTIES).verdict == Verdict.PASS
    assert evaluate(spec, first + later, PARTIES).frames == (2,)
    continued = first + [request(0.2, 3, 61000)]
    assert evaluate(spec, continued, PARTIES).verdict == Verdict.FAIL
    unscoped = {key: value for key, value in spec.items() if key != "connection"}
    assert evaluate(unscoped, first + later, PARTIES).verdict == Verdict.FAIL
    assert evaluate({**spec, "connection": "last"}, first, PARTIES).verdict == Verdict.ERROR


def test_malformed_spec_is_a_harness_error():
    assert evaluate({"kind": "nonsense"}, [], PARTIES).verdict == Verdict.ERROR
    assert evaluate({"kind": "fields", "select": RES}, sdp_exchange(0.01), PARTIES).verdict == Verdict.ERROR


def test_combine_worst_wins():
    assert combine([Verdict.PASS, Verdict.NOT_APPLICABLE]) == Verdict.PASS
    assert combine([Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL]) == Verdict.FAIL
    assert combine([Verdict.FAIL, Verdict.ERROR]) == Verdict.ERROR
    assert combine([]) == Verdict.INCONCLUSIVE


def test_a_tester_precondition_not_met_is_inconclusive_and_decides_the_scenario():
    from harness.scenario import summarise_checks
    from harness.verdict.results import CheckResult

    sounds = [ev(t, i, TESTER, "ff02::1", "SECCDiscoveryReq") for i, t in enumerate((0.0, 0.02, 0.12), 1)]
    spec = {"kind": "interval", "select": {**REQ, "from": "tester"}, "max_s": 0.05, "precondition": True}
    behind = evaluate(spec, sounds, PARTIES)
    assert behind.verdict == Verdict.INCONCLUSIVE
    assert behind.reason.startswith("tester precondition not met: ") and behind.frames
    kept = evaluate(spec, sounds[:2], PARTIES)
    assert kept.verdict == Verdict.PASS

    def check(verdict, precondition=False):
        spec = {"kind": "present", "select": REQ, **({"precondition": True} if precondition else {})}
        return CheckResult(spec=spec, description=f"{verdict} check", verdict=verdict, reason="why")

    # A DUT failure beside an unmet tester precondition says nothing: INCONCLUSIVE, the precondition's reason.
    verdict, reason = summarise_checks([check(Verdict.FAIL), check(Verdict.INCONCLUSIVE, precondition=True)])
    assert verdict == Verdict.INCONCLUSIVE and reason.startswith("INCONCLUSIVE check")
    # A harness error still comes first; a met precondition changes nothing.
    assert summarise_checks([check(Verdict.ERROR), check(Verdict.INCONCLUSIVE, True)])[0] == Verdict.ERROR
    assert summarise_checks([check(Verdict.FAIL), check(Verdict.PASS, True)])[0] == Verdict.FAIL


def test_only_an_unmet_tester_precondition_after_every_step_ran_is_run_again():
    from harness.scenario import tester_precondition_unmet
    from harness.verdict.results import CheckResult, ScenarioResult, StepResult

    def result(verdict, *, precondition_verdict, step_status="passed", interrupted=False):
        checks = [
            CheckResult(
                spec={"kind": "present", "select": REQ}, description="d", verdict=Verdict.FAIL, reason="r"
            ),
            CheckResult(
                spec={"kind": "present", "select": REQ, "precondition": True},
                description="p",
                verdict=precondition_verdict,
                reason="r",
            ),
        ]
        steps = [StepResult(keyword="When", text="the tester runs", status=step_status)]
        return ScenarioResult(
            id="TC_X_001", feature="f.feature", name="n", interfaces=[4], tags=[], requirements=[],
            verdict=verdict, reason="why", steps=steps, checks=checks, interrupted=interrupted,
        )  # fmt: skip

    assert tester_precondition_unmet(result(Verdict.INCONCLUSIVE, precondition_verdict=Verdict.INCONCLUSIVE))
    # The precondition was met: whatever the verdict, it is the DUT's.
    assert not tester_precondition_unmet(result(Verdict.FAIL, precondition_verdict=Verdict.PASS))
    assert not tester_precondition_unmet(result(Verdict.INCONCLUSIVE, precondition_verdict=Verdict.PASS))
    # A step gave up (e.g. the DUT never answered), or the run was interrupted: not the tester's conduct.
    failed_step = result(
        Verdict.INCONCLUSIVE, precondition_verdict=Verdict.INCONCLUSIVE, step_status="failed"
    )
    assert not tester_precondition_unmet(failed_step)
    stopped = result(Verdict.INCONCLUSIVE, precondition_verdict=Verdict.INCONCLUSIVE, interrupted=True)
    assert not tester_precondition_unmet(stopped)


def test_has_any_holds_when_a_repeated_element_holds_one_of_the_values():
    from harness.verdict.checks.iso15118_2 import ISO2, charge_service_offer

    def offer(modes):
        content = {
            "ChargeService": {"ServiceID": 1, "SupportedEnergyTransferMode": {"EnergyTransferMode": modes}},
            "PaymentOptionList": {"PaymentOption": ["ExternalPayment"]},
        }
        body = {"Body": {"ServiceDiscoveryRes": content}}
        return ev(0.0, 1, TESTER, DUT, "ServiceDiscoveryRes", protocol=ISO2, V2G_Message=body)

    where = charge_service_offer(ISO2, ["DC_core", "DC_extended"])
    spec = {"kind": "present", "select": {"message": "ServiceDiscoveryRes", "where": where}}
    assert evaluate(spec, [offer(["AC_three_phase_core", "DC_extended"])], PARTIES).verdict == Verdict.PASS
    assert evaluate(spec, [offer("DC_core")], PARTIES).verdict == Verdict.PASS
    refused = evaluate(spec, [offer(["AC_single_phase_core", "AC_three_phase_core"])], PARTIES)
    assert refused.verdict == Verdict.FAIL
    assert "EnergyTransferMode has_any ['DC_core', 'DC_extended']" in refused.reason


def test_a_star_in_a_field_name_steps_into_every_element_of_a_repeated_element():
    sets = [
        {"ParameterSetID": 1, "Parameter": [{"Name": "Connector"}, {"Name": "BPTChannel"}]},
        {"ParameterSetID": 2, "Parameter": {"Name": "ControlMode"}},
    ]
    detail = ev(0.0, 1, DUT, TESTER, "ServiceDetailRes", protocol="ISO-20")
    detail.fields["ServiceDetailRes"] = {"ServiceID": 6, "ServiceParameterList": {"ParameterSet": sets}}
    path = "ServiceDetailRes.ServiceParameterList.ParameterSet.*.Parameter.*.Name"

    def names(wanted):
        spec = {
            "kind": "fields",
            "select": {"message": "ServiceDetailRes"},
            "where": {path: {"has_any": wanted}},
        }
        return evaluate(spec, [detail], PARTIES).verdict

    assert names(["BPTChannel"]) == Verdict.PASS
    assert names(["ControlMode"]) == Verdict.PASS  # a lone element counts as a list of one
    assert names(["GeneratorMode"]) == Verdict.FAIL
