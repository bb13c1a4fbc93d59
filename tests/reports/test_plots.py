"""The answer-time plot: matplotlib SVG, embedded in report.html, the same bytes for the same run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

from harness.verdict.verdicts import Verdict
from reports.answer_times import AnswerTime
from reports.html import render_html
from reports.model import CheckResult, Results
from reports.plots import answer_time_svg
from reports.render import render_all

SVG_NS = "{http://www.w3.org/2000/svg}"


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
