"""report.pdf: rendered with WeasyPrint and read back with pypdf (text, page count, bookmarks)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import pypdf

from harness.verdict.results import LAB_COPY_FILE
from harness.verdict.verdicts import Verdict
from reports.html import HTML_FILE
from reports.manifest import MANIFEST_FILE, verify_manifest
from reports.model import LabRef
from reports.pdf import (
    PDF_CHART_EVENTS,
    PDF_FILE,
    SignerView,
    lab_view,
    render_pdf,
    render_pdf_html,
)
from reports.render import render_all

LAB_YAML = """\
name: bench-3
description: Bench 3, DC charger lab
dut: {vendor: Example, model: DC-50, firmware: 1.2.3, serial: SN-0042, roles: [secc]}
pics:
  protocols: [din70121, slac]
  options: {slac.validate: false}
pixit:
  capture_jitter_s: 0.004
  timers:
    V2G_SECC_Sequence_Timeout:
      value_s: 90
      clause: DIN SPEC 70121 Table 76
      reason: the DUT documents 90 s
"""


def pdf_text(path: Path) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(path)
    return reader, [page.extract_text() for page in reader.pages]


def outline_titles(items: list) -> list[str]:
    titles = []
    for item in items:
        if isinstance(item, list):
            titles.extend(outline_titles(item))
        else:
            titles.append(item.title)
    return titles


def test_pdf_of_a_run(full_run: Path) -> None:
    """One rendering (WeasyPrint takes seconds), checked part by part by the functions below."""
    path = render_pdf(full_run)
    reader, pages = pdf_text(path)
    pdf = SimpleNamespace(path=path, reader=reader, pages=pages, text="\n".join(pages))
    check_cover_names_the_dut_the_harness_and_the_campaign_verdict(pdf)
    check_pages_are_numbered_x_of_y(pdf)
    check_contents_give_the_page_of_every_section_and_scenario(pdf)
    check_one_section_and_one_bookmark_per_scenario(pdf)
    check_summary_and_coverage_are_the_html_reports(pdf)


def check_cover_names_the_dut_the_harness_and_the_campaign_verdict(pdf: SimpleNamespace) -> None:
    assert pdf.path.name == PDF_FILE and pdf.path.read_bytes().startswith(b"%PDF-")
    cover = pdf.pages[0]
    for fact in (
        "Conformance test report",
        "Example <Charging> & Co",
        "DC-50",
        "1.2.3",
        "SN-0042",
        "vgi 0.1.0",
        "0123456789abcdef0123456789abcdef01234567",
        "2026-11-25T22:00:00+00:00",
        "2026-11-25T22:05:30+00:00",
        "Campaign verdict: ERROR",
    ):
        assert fact in cover, fact


def check_pages_are_numbered_x_of_y(pdf: SimpleNamespace) -> None:
    total = len(pdf.pages)
    assert total > 1
    for number, text in enumerate(pdf.pages, start=1):
        assert f"page {number} of {total}" in text


def check_contents_give_the_page_of_every_section_and_scenario(pdf: SimpleNamespace) -> None:
    contents = pdf.pages[1]
    assert contents.startswith("Contents")

    def listed_page(label: str) -> int:
        match = re.search(re.escape(label) + r"[ .]*?(\d+)\s*$", contents, re.MULTILINE)
        assert match, label
        return int(match.group(1))

    for label in ("Run and lab configuration", "Summary", "Requirement coverage", "Scenarios", "Signature"):
        assert pdf.pages[listed_page(label) - 1].startswith(label), label  # each section opens a page
    for sid in ("S1", "S2", "S3", "S4", "S5"):
        page = pdf.pages[listed_page(f"\u00a0{sid}") - 1]
        assert re.search(rf"^[A-Z_]+ {sid} ", page, re.MULTILINE), sid  # its heading: verdict, id, name


def check_one_section_and_one_bookmark_per_scenario(pdf: SimpleNamespace) -> None:
    titles = outline_titles(pdf.reader.outline)
    for section in ("Contents", "Run and lab configuration", "Summary", "Requirement coverage", "Scenarios"):
        assert section in titles
    scenario_titles = [t for t in titles if re.search(r"\bS\d\b", t)]
    assert len(scenario_titles) == 5
    assert "FAIL S2 Scenario S2" in " ".join(" ".join(t.split()) for t in scenario_titles)
    # Each scenario's verdict, reason and checks with their frame numbers.
    assert "SessionSetupRes within 25 ms" in pdf.text
    assert re.search(r"7, 8", pdf.text)
    assert "Signature" in titles and "Tested by (name)" in pdf.text


def check_summary_and_coverage_are_the_html_reports(pdf: SimpleNamespace) -> None:
    for fact in (
        "Per interface",
        "Interface 4",
        "Per protocol and DUT role",
        "DIN-V2G-DC-001",
        "SEP2-TIME-001",
    ):
        assert fact in pdf.text, fact
    assert "Requirements no scenario of this run checked" in pdf.text


def test_lab_configuration_shows_pics_and_every_timer_override_with_its_clause(
    make_run, kit: SimpleNamespace
) -> None:
    digest = hashlib.sha256(LAB_YAML.encode()).hexdigest()
    run_dir = make_run(
        [kit.scenario("S1", Verdict.PASS)],
        kit.run_info(lab=LabRef(name="bench-3", file="/nonexistent/bench-3.yaml", sha256=digest)),
    )
    (run_dir / LAB_COPY_FILE).write_text(LAB_YAML, encoding="utf-8")
    _, pages = pdf_text(render_pdf(run_dir))
    text = "\n".join(pages)
    assert "Bench 3, DC charger lab" in pages[0]
    assert re.search(r"V2G_SECC_Sequence_Timeout\s+90 s\s+DIN SPEC 70121 Table 76", text)
    assert "the DUT documents 90 s" in text
    assert "din70121, slac" in text and re.search(r"slac\.validate\s+no", text)
    assert re.search(r"capture_jitter_s\s+0\.004", text)


def test_lab_configuration_changed_or_missing_is_not_shown(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(LAB_YAML, encoding="utf-8")
    ref = LabRef(name="bench-3", file=str(lab), sha256="00" * 32)
    changed = lab_view(tmp_path / "run", ref)
    assert not changed.loaded and "has changed since the run" in changed.note and not changed.timers
    missing = lab_view(tmp_path / "run", LabRef(name="x", file=str(tmp_path / "gone.yaml"), sha256="00" * 32))
    assert not missing.loaded and "is not available" in missing.note
    good = lab_view(
        tmp_path / "run", ref.model_copy(update={"sha256": hashlib.sha256(lab.read_bytes()).hexdigest()})
    )
    assert good.loaded and [t.name for t in good.timers] == ["V2G_SECC_Sequence_Timeout"]
    assert good.timers[0].clause == "DIN SPEC 70121 Table 76" and good.timers[0].value == "90 s"


def test_signature_block_names_the_signer_only_when_the_run_is_signed(full_run: Path) -> None:
    unsigned = render_pdf_html(full_run)
    assert 'id="unsigned"' in unsigned and 'id="signed"' not in unsigned
    signed = render_pdf_html(full_run, SignerView("CN=Lab Signer,O=Bench 3", "2026-12-01T10:00:00+00:00"))
    assert 'id="signed"' in signed and "CN=Lab Signer,O=Bench 3" in signed
    assert "2026-12-01T10:00:00+00:00" in signed


def test_scenario_sections_stay_compact(make_run, kit: SimpleNamespace) -> None:
    events = [
        kit.event(i * 0.01, i + 1, "[fe80::2]:50000", "[fe80::1]:15118", "V2GTP", "CurrentDemandReq")
        for i in range(300)
    ]
    run_dir = make_run([kit.scenario("LONG", Verdict.PASS, timeline="timelines/LONG.json")])
    kit.write_timeline(run_dir, "LONG", events)
    html = render_pdf_html(run_dir)
    assert html.count('<g class="event') == PDF_CHART_EVENTS
    assert f"first {PDF_CHART_EVENTS} of 300 events" in html and "timelines/LONG.json" in html
    assert 'class="timing"' not in html  # the timing table is on the HTML page
    assert "2 of 2 steps passed." in html and 'class="steps"' not in html


def test_render_all_writes_the_pdf_before_the_manifest(full_run: Path) -> None:
    paths = render_all(full_run, pdf=True)
    names = [p.name for p in paths]
    assert PDF_FILE in names and names[-1] == MANIFEST_FILE and HTML_FILE in names
    manifest = (full_run / MANIFEST_FILE).read_text(encoding="utf-8")
    assert f"  {PDF_FILE}\n" in manifest and verify_manifest(full_run) == []
    # The same run gives the same PDF bytes, so re-rendering keeps the manifest (and a signature over it).
    render_all(full_run, pdf=True)
    assert (full_run / MANIFEST_FILE).read_text(encoding="utf-8") == manifest
