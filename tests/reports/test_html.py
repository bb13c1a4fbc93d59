"""The HTML report: the index report.html and one page per scenario under scenarios/, parsed back with
html.parser and checked for what a lab reads in them and for links that lead somewhere."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import pytest

from harness.verdict.verdicts import Verdict
from reports.html import HTML_FILE, SCENARIOS_DIR, campaign_verdict, render_html, scenario_files, write_html
from reports.model import Results
from reports.sequence_chart import MAX_CHART_EVENTS, SEGMENT_ROWS


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element] = []
        self.content: list[str | Element] = []  # text and child elements in document order

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(part if isinstance(part, str) else part.text() for part in self.content)

    def iter(self) -> list[Element]:
        out = [self]
        for child in self.children:
            out.extend(child.iter())
        return out

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [
            e for e in self.iter()[1:] if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]


# Elements with no end tag in HTML; everything else the template writes is closed explicitly.
_VOID = {"meta", "br", "rect", "line", "path", "polygon", "link", "img", "input", "hr"}


class TreeBuilder(HTMLParser):
    """A small DOM: enough to look up ids, classes and texts, and to catch unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.current = self.root
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.current.content.append(element)
        if tag not in _VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.current.content.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.current.tag != tag:
            self.problems.append(f"</{tag}> closes <{self.current.tag}>")
            return
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.content.append(data)


def parse(html: str) -> SimpleNamespace:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.problems == []
    assert builder.current is builder.root, f"unclosed <{builder.current.tag}>"
    ids: dict[str, Element] = {}
    for element in builder.root.iter():
        if "id" in element.attrs:
            assert element.attrs["id"] not in ids, f"duplicate id {element.attrs['id']}"
            ids[element.attrs["id"]] = element
    return SimpleNamespace(root=builder.root, ids=ids, html=html)


def write_report(run_dir: Path) -> SimpleNamespace:
    """Write the HTML report of ``run_dir``; the parsed index and the parsed page of every scenario."""
    results = Results.load(run_dir)
    index = write_html(results, run_dir)
    pages = {}
    for scenario, name in zip(results.scenarios, scenario_files(results), strict=True):
        pages.setdefault(scenario.id, parse((run_dir / SCENARIOS_DIR / name).read_text(encoding="utf-8")))
    return SimpleNamespace(index=parse(index.read_text(encoding="utf-8")), pages=pages, run_dir=run_dir)


def page(report: SimpleNamespace, sid: str) -> Element:
    """The scenario's section on its own page."""
    return report.pages[sid].ids[f"scenario-{sid}"]


@pytest.fixture
def full(full_run: Path) -> SimpleNamespace:
    return parse(render_html(Results.load(full_run), full_run))


@pytest.fixture
def report(full_run: Path) -> SimpleNamespace:
    return write_report(full_run)


def test_index_has_every_section_and_one_row_per_scenario(full: SimpleNamespace) -> None:
    for section in (
        "run",
        "summary",
        "coverage",
        "scenarios",
        "signoff",
        "verdict-counts",
        "interface-counts",
        "protocol-counts",
        "role-counts",
    ):
        assert section in full.ids
    for sid in ("S1", "S2", "S3", "S4", "S5"):
        row = full.ids[f"scenario-{sid}"]
        assert row.tag == "tr" and row.attrs["data-verdict"] in {v.value for v in Verdict}
        assert "1.250" in row.text()  # the duration column
    index_links = {a.attrs["href"] for a in full.ids["scenario-index"].find_all("a")}
    assert index_links == {f"scenarios/S{i}.html" for i in range(1, 6)}
    # The details live on the scenario pages: no chart, step or timing table in the index.
    assert not full.root.find_all("svg", "msc") and not full.root.find_all("table", "timing")
    assert not full.root.find_all("table", "steps")


def test_every_link_of_every_page_leads_somewhere(report: SimpleNamespace) -> None:
    """Relative links from the index and the scenario pages: files exist, anchors exist in their page."""
    documents = {(report.run_dir / HTML_FILE).resolve(): report.index}
    for results_id, name in zip(
        [s.id for s in Results.load(report.run_dir).scenarios],
        scenario_files(Results.load(report.run_dir)),
        strict=True,
    ):
        documents[(report.run_dir / SCENARIOS_DIR / name).resolve()] = report.pages[results_id]
    checked = 0
    for path, doc in documents.items():
        for element in doc.root.iter():
            href = element.attrs.get("href")
            if href is None:
                continue
            parts = urlsplit(href)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if "not found" in element.parent.text() and target.suffix == ".pcapng":
                continue  # the report flags that capture as missing
            assert target.is_file(), f"{path.name}: {href}"
            if parts.fragment:
                assert parts.fragment in documents[target].ids, f"{path.name}: {href}"
            checked += 1
    assert checked > 20


def test_header_shows_run_identity(full: SimpleNamespace) -> None:
    header = full.ids["run"].text()
    for fact in (
        "0.1.0",
        "0123456789abcdef0123456789abcdef01234567",
        "lab_configs/sim.yaml",
        "ab" * 32,
        "Example <Charging> & Co",
        "DC-50",
        "1.2.3",
        "SN-0042",
        "SECC, EVSE",
        "2026-11-25T22:00:00+00:00",
        "2026-11-25T22:05:30+00:00",
        "330.0 s",
        "vgi run --lab sim.yaml",
        "loopback (not root, no network namespaces)",
        "tap (in-process tap; no kernel timestamps)",
    ):
        assert fact in header


def test_verdict_counts_and_campaign_verdict(full: SimpleNamespace) -> None:
    cells = {td.attrs["data-verdict"]: td.text() for td in full.ids["verdict-counts"].find_all("td")}
    assert cells == {
        "PASS": "1",
        "FAIL": "1",
        "INCONCLUSIVE": "1",
        "NOT_APPLICABLE": "1",
        "ERROR": "1",
        "total": "5",
    }
    campaign = full.root.find_all("p", "campaign")[0]
    # FAIL and ERROR both present: the worst, by the project's severity order, names the campaign.
    assert campaign.find_all("span", "badge")[0].text() == "ERROR"


def test_interface_table_counts_each_interface_a_scenario_touches(full: SimpleNamespace) -> None:
    rows = {}
    for tr in full.ids["interface-counts"].find_all("tr")[1:]:
        rows[tr.find_all("th")[0].text()] = [td.text() for td in tr.find_all("td")]
    # columns: PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE, ERROR, total
    assert rows == {
        "Interface 1": ["0", "0", "0", "1", "0", "1"],
        "Interface 3": ["0", "0", "0", "1", "0", "1"],
        "Interface 4": ["1", "1", "1", "0", "0", "3"],
        "no interface tagged": ["0", "0", "0", "0", "1", "1"],
    }


def test_protocol_and_role_tables_count_by_tag(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run(
        [
            kit.scenario("A", Verdict.PASS, tags=["@protocol:din70121", "@dut:secc"]),
            kit.scenario("B", Verdict.FAIL, tags=["protocol:din70121", "protocol:slac", "dut:secc"]),
            kit.scenario("C", Verdict.PASS, tags=["interface:4"]),
        ]
    )
    doc = parse(render_html(Results.load(run_dir), run_dir))

    def rows(table: str) -> dict[str, list[str]]:
        return {
            tr.find_all("th")[0].text(): [td.text() for td in tr.find_all("td")]
            for tr in doc.ids[table].find_all("tr")[1:]
        }

    assert rows("protocol-counts") == {
        "din70121": ["1", "1", "0", "0", "0", "2"],
        "slac": ["0", "1", "0", "0", "0", "1"],
        "none tagged": ["1", "0", "0", "0", "0", "1"],
    }
    assert rows("role-counts") == {
        "secc": ["1", "1", "0", "0", "0", "2"],
        "none tagged": ["1", "0", "0", "0", "0", "1"],
    }


def test_requirement_coverage(full: SimpleNamespace) -> None:
    row = full.ids["req-DIN-V2G-DC-001"]
    text = row.text()
    assert "DIN SPEC 70121 9.6.1" in text and "SessionSetupReq within the message timeout" in text
    assert {a.attrs["href"] for a in row.find_all("a")} == {"scenarios/S1.html", "scenarios/S2.html"}
    # results.json left the verdict empty; the report takes the worst of its scenarios (PASS, FAIL).
    assert row.find_all("td")[-1].text() == "FAIL"
    assert full.ids["req-SEP2-TIME-001"].find_all("td")[-1].text() == "not checked"
    uncovered = [li.text() for li in full.ids["uncovered"].find_all("li")]
    assert len(uncovered) == 1 and uncovered[0].startswith("SEP2-TIME-001")
    assert "SEP2-UNLISTED-9" in full.ids["unknown-requirements"].text()


def test_scenario_page(report: SimpleNamespace) -> None:
    s2 = page(report, "S2")
    assert s2.attrs["data-verdict"] == "FAIL"
    text = s2.text()
    for fact in ("interface4/session_setup.feature", "@req:DIN-V2G-DC-001", "FAIL because of S2", "1.250 s"):
        assert fact in text
    steps = s2.find_all("table", "steps")[0]
    assert "the EVCC sends SessionSetupReq" in steps.text()
    s5_steps = page(report, "S5").find_all("table", "steps")[0]
    assert "address in use" in s5_steps.text() and s5_steps.find_all("tr", "s-failed")
    # Back to the scenario's row of the index, and on to its neighbours.
    nav = report.pages["S2"].root.find_all("nav")[0]
    hrefs = {a.attrs.get("rel", "index"): a.attrs["href"] for a in nav.find_all("a")}
    assert hrefs == {"index": "../report.html#scenario-S2", "prev": "S1.html", "next": "S3.html"}
    assert "scenario 2 of 5" in nav.text()
    first = {a.attrs.get("rel", "index") for a in report.pages["S1"].root.find_all("nav")[0].find_all("a")}
    assert first == {"index", "next"}


def test_checks_link_their_frames_to_the_timing_table(report: SimpleNamespace) -> None:
    checks = page(report, "S1").find_all("table", "checks")[0]
    hrefs = [a.attrs["href"] for a in checks.find_all("a")]
    assert hrefs == ["../report.html#req-DIN-V2G-DC-001", "#scenario-S1-frame-7", "#scenario-S1-frame-8"]
    assert "req-DIN-V2G-DC-001" in report.index.ids
    for href in hrefs[1:]:
        assert href[1:] in report.pages["S1"].ids


def test_timing_table_times_are_relative_and_in_ms(report: SimpleNamespace) -> None:
    table = page(report, "S1").find_all("table", "timing")[0]
    rows = [[td.text() for td in tr.find_all("td")] for tr in table.find_all("tr")[1:]]
    assert len(rows) == 6
    assert rows[0][:3] == ["1", "0.000", ""]
    assert rows[5][:3] == ["8", "41.300", "31.200"]
    assert rows[5][3] == "[fe80::1]:15118 \u2192 [fe80::2]:50000"
    assert rows[5][4:6] == ["V2GTP", "SessionSetupRes"]


def test_time_limits_show_limit_and_measured_value(report: SimpleNamespace) -> None:
    s2 = page(report, "S2").find_all("table", "timed-checks")[0]
    cells = [td.text() for td in s2.find_all("tr")[1].find_all("td")]
    assert cells[2] == "max_s = 25 ms"
    assert cells[3] == "31.200 ms"  # from the reason, skipping the "25 ms" that is the limit
    s1 = page(report, "S1").find_all("table", "timed-checks")[0]
    assert [td.text() for td in s1.find_all("tr")[1].find_all("td")][3] == "31.200 ms"  # measured_s field


def test_sequence_chart_draws_messages_links_and_decode_errors(report: SimpleNamespace) -> None:
    svg = page(report, "S2").find_all("svg", "msc")[0]
    lifelines = svg.find_all("g", "lifeline")
    assert [g.find_all("title")[0].text() for g in lifelines] == ["fe80::2", "fe80::1"]
    # results.json names the parties; the lifeline header shows the name above the address.
    assert [[t.text() for t in g.find_all("text")] for g in lifelines] == [
        ["tester", "fe80::2"],
        ["dut", "fe80::1"],
    ]
    events = svg.find_all("g", "event")
    assert [sorted(g.classes - {"event"}) for g in events] == [["k-link"]] * 2 + [["k-message"]] * 4 + [
        ["k-error"]
    ]
    error = events[-1]
    assert error.find_all("path")[0].attrs["stroke"] == "#c62828"
    assert (
        "frame 9, [fe80::1]:15118 -> [fe80::2]:50000: V2GTP decode error: EXI: unknown event code 0x1f"
        in (error.find_all("title")[0].text())
    )
    assert "+50.000 ms" in error.text()
    assert events[0].find_all("path")[0].attrs.get("stroke-dasharray")  # SYN drawn dashed
    assert "+41.300 ms" in events[5].text() and "V2GTP SessionSetupRes" in events[5].text()


def test_decode_error_in_timing_table_keeps_the_error_text_readable(report: SimpleNamespace) -> None:
    table = page(report, "S2").find_all("table", "timing")[0]
    error_rows = table.find_all("tr", "k-error")
    assert len(error_rows) == 1
    # The control byte in the error is shown escaped; the angle brackets are text, not markup.
    assert error_rows[0].find_all("td")[-1].text() == (
        "EXI: unknown event code 0x1f at bit 96 \\x01<bad> (byte offset 12, raw 80ff)"
    )
    assert "\x01" not in report.pages["S2"].html


def test_scenarios_without_timeline_say_so(report: SimpleNamespace) -> None:
    s3 = page(report, "S3")
    assert "No timeline was recorded" in s3.find_all("p", "timeline-note")[0].text()
    assert not s3.find_all("svg")
    s4 = page(report, "S4")
    assert "timelines/never-written.json is missing" in s4.find_all("p", "timeline-note")[0].text()


def test_evidence_links_are_relative_and_missing_captures_flagged(report: SimpleNamespace) -> None:
    s1 = page(report, "S1").find_all("ul", "evidence")[0]
    assert s1.find_all("a")[0].attrs["href"] == "../captures/s1.pcapng"
    assert "frames 7, 8" in s1.text() and "not found" not in s1.text()
    s2 = page(report, "S2").find_all("ul", "evidence")[0]
    assert "file not found in the run directory" in s2.text()


def test_text_from_the_run_is_escaped(report: SimpleNamespace) -> None:
    for doc in (report.index, *report.pages.values()):
        assert "<script>alert" not in doc.html
        assert not doc.root.find_all("script")
    assert any("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in d.html for d in report.pages.values())


def test_pages_are_self_contained(report: SimpleNamespace) -> None:
    for doc in (report.index, *report.pages.values()):
        assert "http://" not in doc.html and "https://" not in doc.html
        assert not doc.root.find_all("link") and not doc.root.find_all("img")
        assert not doc.root.find_all("iframe")
        for element in doc.root.iter():
            assert "src" not in element.attrs, element.tag
            href = element.attrs.get("href")
            if href is not None:
                assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", href), href
        style = "".join(e.text() for e in doc.root.find_all("style"))
        assert "url(" not in style and "@import" not in style and ".badge" in style


def test_signoff_block(full: SimpleNamespace) -> None:
    text = full.ids["signoff"].text()
    assert "Tested by" in text and "Date" in text and "Signature" in text


def test_interrupted_run(interrupted_run: Path) -> None:
    results = Results.load(interrupted_run)
    doc = parse(render_html(results, interrupted_run))
    assert "Run interrupted by SIGINT" in doc.ids["run"].text()
    assert "not finished" in doc.ids["run"].text()
    assert "(interrupted)" in doc.ids["scenario-S2"].text()
    assert "(interrupted)" in page(write_report(interrupted_run), "S2").find_all("h1")[0].text()
    assert campaign_verdict(results).verdict is Verdict.INCONCLUSIVE
    # DIN-V2G-DC-002 names S3, which this run never reached: listed as not in the run, and uncovered.
    assert "S3 (not in this run)" in doc.ids["req-DIN-V2G-DC-002"].text()
    uncovered = [li.find_all("a")[0].text() for li in doc.ids["uncovered"].find_all("li")]
    assert uncovered == ["DIN-V2G-DC-002", "SEP2-TIME-001"]


def test_interrupted_run_with_only_passes_cannot_pass(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([kit.scenario("S1", Verdict.PASS)], kit.run_info(finished=None, interrupted="SIGTERM"))
    verdict = campaign_verdict(Results.load(run_dir))
    assert verdict.verdict is Verdict.INCONCLUSIVE and "SIGTERM" in verdict.explanation


def test_campaign_passes_only_on_pass_and_not_applicable(make_run, kit: SimpleNamespace) -> None:
    ok = make_run([kit.scenario("S1", Verdict.PASS), kit.scenario("S2", Verdict.NOT_APPLICABLE)])
    assert campaign_verdict(Results.load(ok)).verdict is Verdict.PASS
    bad = make_run([kit.scenario("S1", Verdict.PASS), kit.scenario("S2", Verdict.INCONCLUSIVE)])
    assert campaign_verdict(Results.load(bad)).verdict is Verdict.INCONCLUSIVE
    failed = make_run([kit.scenario("S1", Verdict.FAIL), kit.scenario("S2", Verdict.NOT_APPLICABLE)])
    assert campaign_verdict(Results.load(failed)).verdict is Verdict.FAIL


def test_empty_run(make_run) -> None:
    run_dir = make_run([])
    report = write_report(run_dir)
    doc = report.index
    cells = {td.attrs["data-verdict"]: td.text() for td in doc.ids["verdict-counts"].find_all("td")}
    assert set(cells.values()) == {"0"}
    assert doc.root.find_all("p", "campaign")[0].find_all("span")[0].text() == "INCONCLUSIVE"
    assert "scenario-index" not in doc.ids and "No scenario ran." in doc.ids["scenarios"].text()
    assert report.pages == {} and list((run_dir / SCENARIOS_DIR).iterdir()) == []


def test_long_timeline_is_capped_in_the_chart_not_in_the_table(make_run, kit: SimpleNamespace) -> None:
    events = [
        kit.event(i * 0.01, i + 1, "[fe80::2]:50000", "[fe80::1]:15118", "V2GTP", "CurrentDemandReq")
        for i in range(MAX_CHART_EVENTS + 50)
    ]
    run_dir = make_run([kit.scenario("LONG", Verdict.PASS, timeline="timelines/LONG.json")])
    kit.write_timeline(run_dir, "LONG", events)
    scenario = page(write_report(run_dir), "LONG")
    assert len(scenario.find_all("g", "event")) == MAX_CHART_EVENTS
    assert f"first {MAX_CHART_EVENTS} of {MAX_CHART_EVENTS + 50} events" in scenario.text()
    assert len(scenario.find_all("table", "timing")[0].find_all("tr")) == MAX_CHART_EVENTS + 50 + 1


def test_unreadable_and_partly_malformed_timelines_are_reported(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run(
        [
            kit.scenario("TRUNC", Verdict.ERROR, timeline="timelines/TRUNC.json"),
            kit.scenario("MIXED", Verdict.PASS, timeline="timelines/MIXED.json"),
            kit.scenario("EMPTY", Verdict.FAIL, timeline="timelines/EMPTY.json"),
        ]
    )
    (run_dir / "timelines").mkdir()
    (run_dir / "timelines/TRUNC.json").write_text('[{"t": 1.0, "fra', encoding="utf-8")
    (run_dir / "timelines/EMPTY.json").write_text("[]", encoding="utf-8")
    mixed = [*kit.handshake[:2], {"frame": 3}, "junk", {**kit.handshake[2], "t": "not a number"}]
    (run_dir / "timelines/MIXED.json").write_text(json.dumps(mixed), encoding="utf-8")
    report = write_report(run_dir)
    assert "could not be read" in page(report, "TRUNC").find_all("p", "timeline-note")[0].text()
    mixed_note = page(report, "MIXED").find_all("p", "timeline-note")[0].text()
    assert mixed_note.startswith("3 of 5 entries in timelines/MIXED.json could not be read")
    assert len(page(report, "MIXED").find_all("g", "event")) == 2
    assert "is empty" in page(report, "EMPTY").find_all("p", "timeline-note")[0].text()


def test_timeline_outside_the_run_directory_is_not_read(
    make_run, kit: SimpleNamespace, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere.json").write_text(json.dumps(kit.handshake), encoding="utf-8")
    run_dir = make_run([kit.scenario("OUT", Verdict.PASS, timeline="../elsewhere.json")])
    scenario = page(write_report(run_dir), "OUT")
    assert "outside the run directory" in scenario.text()
    assert not scenario.find_all("svg")


def test_rendering_is_deterministic(full_run: Path) -> None:
    def snapshot() -> dict[str, bytes]:
        write_html(Results.load(full_run), full_run)
        files = [full_run / HTML_FILE, *sorted((full_run / SCENARIOS_DIR).iterdir())]
        return {p.name: p.read_bytes() for p in files}

    first = snapshot()
    assert first == snapshot() and len(first) == 6


def test_page_names_are_safe_and_unique_and_stale_pages_go(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run(
        [
            kit.scenario("a/b:c d", Verdict.PASS),
            kit.scenario("CASE", Verdict.PASS),
            kit.scenario("case", Verdict.FAIL),
            kit.scenario("../up", Verdict.PASS),
        ]
    )
    results = Results.load(run_dir)
    assert scenario_files(results) == ["a_b_c_d.html", "CASE.html", "case-2.html", "_up.html"]
    (run_dir / SCENARIOS_DIR).mkdir()
    stale = run_dir / SCENARIOS_DIR / "GONE.html"
    stale.write_text("from an earlier rendering", encoding="utf-8")
    write_html(results, run_dir)
    assert sorted(p.name for p in (run_dir / SCENARIOS_DIR).iterdir()) == sorted(scenario_files(results))
    assert not (run_dir.parent / "up.html").exists()


def test_index_stays_small_while_the_pages_hold_the_timelines(make_run, kit: SimpleNamespace) -> None:
    """The point of the split: the index grows by one row per scenario, not by its timeline."""
    events = [
        kit.event(i * 0.01, i + 1, "[fe80::2]:50000", "[fe80::1]:15118", "V2GTP", "CurrentDemandReq")
        for i in range(300)
    ]
    scenarios = [kit.scenario(f"S{i}", Verdict.PASS, timeline=f"timelines/S{i}.json") for i in range(20)]
    run_dir = make_run(scenarios)
    for i in range(20):
        kit.write_timeline(run_dir, f"S{i}", events)
    report = write_report(run_dir)
    index_size = (run_dir / HTML_FILE).stat().st_size
    page_size = (run_dir / SCENARIOS_DIR / "S0.html").stat().st_size
    assert index_size < page_size  # one page holds more than the index of all twenty
    assert len(report.index.root.iter()) < len(report.pages["S0"].root.iter())


def test_report_of_a_real_capture(captures_dir: Path, make_run, kit: SimpleNamespace) -> None:
    """A timeline decoded from a real DIN SPEC 70121 session (Josev): more events than the chart shows."""
    from capture.reader import read_timeline

    events = read_timeline(captures_dir / "DIN_DC_DS5366_Josev.pcapng")
    assert len(events) > MAX_CHART_EVENTS
    run_dir = make_run([kit.scenario("DIN", Verdict.PASS, timeline="timelines/DIN.json")])
    kit.write_timeline(run_dir, "DIN", [e.to_json() for e in events])
    scenario = page(write_report(run_dir), "DIN")
    parts = scenario.find_all("svg", "msc")
    assert len(parts) == math.ceil(MAX_CHART_EVENTS / SEGMENT_ROWS)
    shown = events[:MAX_CHART_EVENTS]
    first_lanes = [g.find_all("title")[0].text() for g in parts[0].find_all("g", "lifeline")]
    assert set(first_lanes) == {e.src for e in shown} | {e.dst for e in shown}
    for svg in parts:  # every part repeats the lifeline headers, in the same order
        assert [g.find_all("title")[0].text() for g in svg.find_all("g", "lifeline")] == first_lanes
    drawn = [g for svg in parts for g in svg.find_all("g", "event")]
    assert [g.find_all("text")[0].text() for g in drawn] == [str(e.frame) for e in shown]
    rows = scenario.find_all("table", "timing")[0].find_all("tr")[1:]
    assert len(rows) == len(events)
    assert [td.text() for td in rows[0].find_all("td")][:2] == [str(events[0].frame), "0.000"]
    last_ms = (events[-1].t - events[0].t) * 1000.0
    assert rows[-1].find_all("td")[1].text() == f"{last_ms:.3f}"


def test_duplicate_scenario_ids_still_give_unique_anchors_and_pages(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([kit.scenario("DUP", Verdict.PASS), kit.scenario("DUP", Verdict.FAIL)])
    doc = parse(render_html(Results.load(run_dir), run_dir))  # parse() rejects duplicate ids
    assert doc.ids["scenario-DUP"].attrs["data-verdict"] == "PASS"
    assert doc.ids["scenario-DUP-2"].attrs["data-verdict"] == "FAIL"
    write_html(Results.load(run_dir), run_dir)
    second = parse((run_dir / SCENARIOS_DIR / "DUP-2.html").read_text(encoding="utf-8"))
    assert second.ids["scenario-DUP-2"].attrs["data-verdict"] == "FAIL"
    assert "DUP-2.html" in {a.attrs["href"].rsplit("/", 1)[-1] for a in doc.root.find_all("a")}
