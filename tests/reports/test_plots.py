"""The plots (answer times; DC session, pilot, DER from a timeline): matplotlib SVG, embedded in the
reports, the same bytes for the same run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from capture.timeline import TimelineEvent
from harness.verdict.verdicts import Verdict
from reports import html as html_module
from reports.answer_times import AnswerTime
from reports.html import SCENARIOS_DIR, render_html, scenario_files, write_html
from reports.model import CheckResult, Results
from reports.pdf import render_pdf_html
from reports.plots import MAX_SERIES_POINTS, answer_time_svg, thin
from reports.plots_dc import SOC, dc_series, dc_session_svg, physical_value
from reports.plots_der import commands, declared_max_w, der_power_svg, readings
from reports.plots_pilot import STATES, pilot_series, pilot_svg
from reports.render import render_all
from reports.scenario_plots import timeline_plots

SVG_NS = "{http://www.w3.org/2000/svg}"
T0 = 1_764_100_000.0  # an arbitrary capture epoch


def _times() -> list[AnswerTime]:
    slow = [
        AnswerTime("DIN CurrentDemandReq -> CurrentDemandRes", "S1", 2 * i, 2 * i + 1, 0.001 * i, 0.025)
        for i in range(1, 20)
    ]
    return [*slow, AnswerTime("SDP SECCDiscoveryReq -> SECCDiscoveryRes", "S2", 1, 2, 0.0003, 0.25)]


def test_nothing_timed_no_plot() -> None:
    assert answer_time_svg([]) is None


def test_svg_names_every_message_type_and_draws_the_limits() -> None:
    svg = answer_time_svg(_times())
    assert svg is not None and svg.startswith("<svg")
    root = ET.fromstring(svg)
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))
    assert "DIN CurrentDemandReq -> CurrentDemandRes (n=19)" in texts
    assert "SECCDiscoveryRes (n=1)" in texts and "limit" in texts and "answer time (ms, logarithmic)" in texts
    assert "#c62828" in svg  # the limit marks, in the report's FAIL red
    assert answer_time_svg(_times()) == svg  # reproducible: fixed ids, no date


def test_report_embeds_the_plot_and_the_table(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([])
    timeline = kit.write_timeline(run_dir, "S1", kit.handshake)
    check = CheckResult(
        spec={
            "kind": "response_time",
            "request": {"protocol": "V2GTP", "message": "SessionSetupReq"},
            "response": {"protocol": "V2GTP", "message": "SessionSetupRes"},
            "max_s": 0.025,
        },
        description="SessionSetupRes within 25 ms",
        verdict=Verdict.FAIL,
        reason="answer to frame 7 took 31.2 ms (frame 8), limit 25.0 ms",
        frames=[7, 8],
    )
    results = Results.load(run_dir)
    results.scenarios = [kit.scenario("S1", Verdict.FAIL, timeline=timeline, checks=[check])]
    results.save(run_dir)
    html = render_html(results, run_dir)
    start = html.index('<div class="plot" id="answer-time-plot"><svg')
    assert "</svg>" in html[start:]
    table = html[html.index('<table id="answer-times">') :]
    table = table[: table.index("</table>")]
    assert "V2GTP SessionSetupReq -&gt; SessionSetupRes" in table
    assert '<td class="num">31.20</td>' in table and '<td class="num">25.00</td>' in table
    first = {p.name: p.read_bytes() for p in render_all(run_dir)}
    second = {p.name: p.read_bytes() for p in render_all(run_dir)}
    assert first == second


def test_no_plot_without_timed_answers(full_run: Path) -> None:
    html = render_html(Results.load(full_run), full_run)
    assert 'id="answer-time-plot"' not in html and 'id="answer-times"' not in html


# --- the timeline plots: DC session, control pilot, DER power ---------------------------------------------

EV_ADDR, EVSE_ADDR = "fe80::2", "fe80::1"


def _v2g(t: float, frame: int, message: str, body: dict) -> TimelineEvent:
    src, dst = (EV_ADDR, EVSE_ADDR) if message.endswith("Req") else (EVSE_ADDR, EV_ADDR)
    fields = {"V2G_Message": {"Header": {"SessionID": "01"}, "Body": {message: body}}}
    return TimelineEvent(T0 + t, frame, src, dst, "DIN", message, fields)


def _pv(value: int, multiplier: int, unit: str) -> dict:
    return {"Multiplier": multiplier, "Unit": unit, "Value": value}


def _dc_session(loops: int = 3) -> list[TimelineEvent]:
    events = [
        _v2g(
            0.0,
            1,
            "PreChargeReq",
            {
                "DC_EVStatus": {"EVRESSSOC": 40},
                "EVTargetVoltage": _pv(4000, -1, "V"),
                "EVTargetCurrent": _pv(0, 0, "A"),
            },
        ),
        _v2g(0.01, 2, "PreChargeRes", {"EVSEPresentVoltage": _pv(3950, -1, "V")}),
    ]
    for i in range(loops):
        t, frame = 1.0 + i, 3 + 2 * i
        events.append(
            _v2g(
                t,
                frame,
                "CurrentDemandReq",
                {
                    "DC_EVStatus": {"EVRESSSOC": 41 + i},
                    "EVTargetVoltage": _pv(4000, -1, "V"),
                    "EVTargetCurrent": _pv(125, -1, "A"),
                },
            )
        )
        events.append(
            _v2g(
                t + 0.01,
                frame + 1,
                "CurrentDemandRes",
                {
                    "EVSEPresentVoltage": _pv(400, 0, "V"),
                    "EVSEPresentCurrent": _pv(12000 + i, -3, "A"),
                },
            )
        )
    return events


def _texts(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def test_dc_series_scale_physical_values_and_read_soc() -> None:
    series = dc_series(_dc_session())
    assert [v for _, v in series["EV target voltage"]] == [400.0] * 4
    assert [round(v, 3) for _, v in series["EVSE present current"]] == [12.0, 12.001, 12.002]
    assert [v for _, v in series["EVSE present voltage"]] == [395.0, 400.0, 400.0, 400.0]
    assert [v for _, v in series[SOC]] == [40.0, 41.0, 42.0, 43.0]
    assert physical_value({"Value": 7, "Unit": "A"}) == 7.0 and physical_value("7") is None


def test_dc_plot_draws_targets_present_values_and_soc() -> None:
    svg = dc_session_svg(_dc_session())
    assert svg is not None and svg.startswith("<svg")
    texts = _texts(svg)
    for label in ("EV target voltage", "EVSE present voltage", "EV target current", "EVSE present current"):
        assert label in texts
    assert "EV SoC" in texts and "SoC (%)" in texts
    assert dc_session_svg(_dc_session()) == svg


def test_no_dc_plot_without_dc_values() -> None:
    assert dc_session_svg([]) is None
    # A session that never reached PreCharge, and a decode error where a CurrentDemandRes was, draw nothing.
    setup = _v2g(0.0, 1, "SessionSetupReq", {"EVCCID": "00"})
    broken = replace(_dc_session()[3], error="EXI: truncated")
    assert dc_session_svg([setup, broken]) is None


def test_long_series_are_thinned_to_a_small_svg() -> None:
    short = dc_session_svg(_dc_session(loops=MAX_SERIES_POINTS // 2))
    long = dc_session_svg(_dc_session(loops=5 * MAX_SERIES_POINTS))
    assert short is not None and long is not None
    assert len(long) < 1.5 * len(short) and len(long) < 80_000
    points = [(float(i), float(i)) for i in range(1000)]
    kept = thin(points, 10)
    assert len(kept) == 10 and kept[0] == points[0] and kept[-1] == points[-1]
    assert thin(points[:5], 10) == points[:5]


def _pilot(t: float, frame: int, side: str, state: str, duty: float | None) -> TimelineEvent:
    message = "EvseOutput" if side == "evse" else "VehicleState"
    fields = {"side": side, "state": state, "duty_percent": duty, "output": "X2" if duty else "X1"}
    return TimelineEvent(T0 + t, frame, "02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "PILOT", message, fields)


def _pilot_run() -> list[TimelineEvent]:
    return [
        _pilot(0.0, 1, "evse", "A", None),
        _pilot(0.5, 2, "ev", "B", None),
        _pilot(0.6, 3, "evse", "B", 5.0),
        _pilot(1.0, 4, "ev", "C", None),
        _pilot(1.1, 5, "evse", "C", 5.0),
        _pilot(1.2, 6, "evse", "C", 5.0),
        _pilot(2.0, 7, "evse", "E", None),
    ]


def test_pilot_series_per_side() -> None:
    states, duties = pilot_series(_pilot_run())
    assert [s for _, s in states["EVSE"]] == ["A", "B", "C", "C", "E"]
    assert [s for _, s in states["EV"]] == ["B", "C"]
    assert [d for _, d in duties["EVSE"]] == [None, 5.0, 5.0, 5.0, None]


def test_pilot_plot_draws_state_and_duty_per_side() -> None:
    svg = pilot_svg(_pilot_run())
    assert svg is not None
    texts = _texts(svg)
    assert "state (EVSE record)" in texts and "state (EV record)" in texts
    assert "duty (EVSE record)" in texts and "duty (EV record)" not in texts  # the EV recorded no PWM
    assert all(state in texts for state in STATES) and "duty cycle (%)" in texts
    assert pilot_svg(_pilot_run()) == svg


def test_pilot_plot_without_pwm_says_so_and_nothing_without_records() -> None:
    svg = pilot_svg([_pilot(0.0, 1, "evse", "A", None), _pilot(1.0, 2, "evse", "B", None)])
    assert svg is not None and "no PWM recorded" in _texts(svg)
    assert pilot_svg([]) is None
    assert pilot_svg(_dc_session()) is None


SERVER, CLIENT = "fe80::10", "fe80::20"
S0 = 1_767_225_000  # server time (UTC s) of the first control


def _http(
    t: float, frame: int, message: str, root: str, resource: dict, method: str | None = None
) -> TimelineEvent:
    fields: dict = {"root": root, "resource": resource}
    src, dst = (SERVER, CLIENT)
    if method:
        fields["method"] = method
        src, dst = dst, src
    return TimelineEvent(T0 + t, frame, src, dst, "HTTP", message, fields)


def _control(start: int, duration: int, **modes: int) -> dict:
    base = {mode: {"disabled": "false", "value": value} for mode, value in modes.items()}
    return {
        "href": "/derp/1/derc/1",
        "interval": {"start": start, "duration": duration},
        "DERControlBase": base,
    }


def _reading(start: int, value: int, *, declare: bool = False) -> dict:
    body: dict = {"mRID": "AB01", "Reading": {"timePeriod": {"duration": 30, "start": start}, "value": value}}
    if declare:
        body["ReadingType"] = {"uom": 38, "powerOfTenMultiplier": 1}
    return body


def _der_run(settings: bool = True) -> list[TimelineEvent]:
    events = [
        _http(
            0.0,
            1,
            "POST /mup",
            "MirrorUsagePoint",
            {"MirrorMeterReading": {"mRID": "AB01", "ReadingType": {"uom": 38, "powerOfTenMultiplier": 1}}},
            method="POST",
        ),
        # Polled twice: the same control counts once.
        _http(
            1.0,
            2,
            "200 DERControlList",
            "DERControlList",
            {"DERControl": _control(S0, 300, opModFixedW=5000)},
        ),
        _http(
            2.0,
            3,
            "200 DERControlList",
            "DERControlList",
            {"DERControl": [_control(S0, 300, opModFixedW=5000), _control(S0 + 300, 300, opModMaxLimW=2500)]},
        ),
        # Another quantity (uom 63, var) is no real power.
        _http(
            3.0,
            4,
            "POST /mup/2",
            "MirrorMeterReading",
            {**_reading(S0, 99), "mRID": "CD02", "ReadingType": {"uom": 63}},
            method="POST",
        ),
    ]
    events += [
        _http(
            10.0 + i, 10 + i, "POST /mup/1", "MirrorMeterReading", _reading(S0 + 30 * i, -360), method="POST"
        )
        for i in range(5)
    ]
    if settings:
        events.append(
            _http(
                0.5,
                5,
                "PUT /edev/3/der/1/derg",
                "DERSettings",
                {"setMaxW": {"multiplier": 0, "value": 7200}},
                method="PUT",
            )
        )
    return events


def test_der_commands_and_readings_from_the_timeline() -> None:
    events = _der_run()
    assert commands(events) == {
        "opModFixedW": [(S0, S0 + 300, 50.0)],
        "opModMaxLimW": [(S0 + 300, S0 + 600, 25.0)],
    }
    assert readings(events) == [(S0 + 30 * i, -3600.0) for i in range(5)]
    assert declared_max_w(events) == 7200.0 and declared_max_w(_der_run(settings=False)) is None


def test_der_plot_aligns_commands_with_readings_when_setmaxw_is_declared() -> None:
    svg = der_power_svg(_der_run())
    assert svg is not None
    texts = _texts(svg)
    assert "reported real power (W)" in texts
    assert "opModFixedW commanded (%)" in texts and "opModMaxLimW commanded (%)" in texts
    assert "setMaxW 7200 W" in texts
    plain = der_power_svg(_der_run(settings=False))
    assert plain is not None and "setMaxW" not in _texts(plain) and "commanded (% of rating)" in _texts(plain)
    assert der_power_svg(_der_run()) == svg


def test_no_der_plot_without_commands_or_readings() -> None:
    events = _der_run()
    assert der_power_svg([e for e in events if e.message != "200 DERControlList"]) is None
    assert der_power_svg([e for e in events if e.fields.get("method") != "POST"]) is None
    assert der_power_svg([]) is None


def test_no_der_plot_when_no_reading_falls_under_a_control() -> None:
    events = _der_run()
    one_reading = [e for e in events if not (e.message == "POST /mup/1" and e.frame > 10)]
    assert len(readings(one_reading)) == 1 and der_power_svg(one_reading) is None
    late = [
        _http(
            2.0,
            3,
            "200 DERControlList",
            "DERControlList",
            {"DERControl": _control(S0 + 3600, 300, opModFixedW=5000)},
        )
        if e.message == "200 DERControlList"
        else e
        for e in events
    ]
    assert der_power_svg(late) is None  # the only control starts after the last reading


def test_timeline_plots_pick_what_the_timeline_has() -> None:
    assert [p.kind for p in timeline_plots([*_dc_session(), *_pilot_run()])] == ["dc", "pilot"]
    assert [p.kind for p in timeline_plots(_der_run())] == ["der"]
    assert timeline_plots([]) == ()


def test_scenario_page_and_pdf_show_the_timeline_plots(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([])
    dc = kit.write_timeline(run_dir, "DC", [e.to_json() for e in [*_dc_session(), *_pilot_run()]])
    plain = kit.write_timeline(run_dir, "PLAIN", kit.handshake)
    results = Results.load(run_dir)
    results.scenarios = [
        kit.scenario("DC", Verdict.PASS, timeline=dc),
        kit.scenario("PLAIN", Verdict.PASS, timeline=plain),
    ]
    results.save(run_dir)
    write_html(results, run_dir)
    pages = {
        name: (run_dir / SCENARIOS_DIR / name).read_text(encoding="utf-8") for name in scenario_files(results)
    }
    dc_page, plain_page = (pages[name] for name in scenario_files(results))
    assert '-dc-plot"><svg' in dc_page and '-pilot-plot"><svg' in dc_page and "-der-plot" not in dc_page
    assert "timeline-plot" not in plain_page
    # Two plots on one page: matplotlib's ids are kept apart, and every reference finds its own plot's.
    ids = re.findall(r'\bid="([^"]+)"', dc_page)
    assert len(ids) == len(set(ids)) and "figure_1" not in ids
    references = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', dc_page))
    assert references and references <= set(ids)
    assert {kind for r in references for kind in ("-dc-", "-pilot-") if kind in r} == {"-dc-", "-pilot-"}
    pdf_html = render_pdf_html(run_dir)
    assert pdf_html.count('class="plot timeline-plot"') == 2 and "EVSE present voltage" in pdf_html


def test_a_report_run_draws_each_scenario_plot_once(make_run, kit: SimpleNamespace, monkeypatch) -> None:
    run_dir = make_run([])
    dc = kit.write_timeline(run_dir, "DC", [e.to_json() for e in [*_dc_session(), *_pilot_run()]])
    der = kit.write_timeline(run_dir, "DER", [e.to_json() for e in _der_run()])
    results = Results.load(run_dir)
    results.scenarios = [
        kit.scenario("DC", Verdict.PASS, timeline=dc),
        kit.scenario("DER", Verdict.PASS, timeline=der),
    ]
    results.save(run_dir)
    redrawn = render_pdf_html(run_dir, results=results)  # the PDF alone draws its own plots
    drawn_for: list[str] = []

    def counted(events, id_prefix=""):
        drawn_for.append(id_prefix)
        return timeline_plots(events, id_prefix)

    monkeypatch.setattr(html_module, "timeline_plots", counted)
    kept: dict = {}
    write_html(results, run_dir, kept)
    assert len(drawn_for) == 2 and [len(plots) for plots in kept.values()] == [2, 1]
    # The PDF takes the HTML pages' plots, lets each go once laid out, and comes out the same.
    assert render_pdf_html(run_dir, results=results, drawn=kept) == redrawn
    assert len(drawn_for) == 2 and kept == {}
