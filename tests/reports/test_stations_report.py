"""A run on several stations in the reports: the station of each scenario (index column, scenario page,
PDF section) and the stations in the run section and on the PDF cover; a run without stations shows
neither."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from harness.verdict.verdicts import Verdict
from reports.model import StationInfo
from reports.pdf import render_pdf_html
from tests.reports.test_html import page, parse, write_report

BAY_1 = StationInfo(name="bay-1", serial="SN-0042", firmware="1.2.3", location="plc on enx01")
BAY_2 = StationInfo(name="bay-2", serial="SN-0043", firmware="1.2.4", location="plc on enx02")


def _station_run(make_run: Callable, kit: SimpleNamespace) -> Path:
    scenarios = [
        kit.scenario("S1", Verdict.PASS, station=BAY_1),
        kit.scenario("S2", Verdict.FAIL, station=BAY_2),
        kit.scenario("S3", Verdict.INCONCLUSIVE),  # not run: the run was interrupted before it
    ]
    return make_run(scenarios, kit.run_info(workers=2, stations=[BAY_1, BAY_2]))


def test_index_shows_the_station_of_each_scenario(make_run, kit: SimpleNamespace) -> None:
    report = write_report(_station_run(make_run, kit))
    headers = [th.text() for th in report.index.ids["scenario-index"].find_all("th")]
    assert headers[:4] == ["Scenario", "Feature", "Station", "Verdict"]
    cells = {
        sid: report.index.ids[f"scenario-{sid}"].find_all("td", "station")[0].text()
        for sid in ("S1", "S2", "S3")
    }
    assert cells == {"S1": "bay-1", "S2": "bay-2", "S3": ""}
    run = report.index.ids["run"].text()
    assert "SN-0042, SN-0043" in run and "1.2.3, 1.2.4" in run
    stations = report.index.ids["stations"].text()
    assert "bay-1: serial SN-0042, firmware 1.2.3, plc on enx01" in stations
    assert "bay-2: serial SN-0043, firmware 1.2.4, plc on enx02" in stations


def test_scenario_page_names_its_station_and_unit(make_run, kit: SimpleNamespace) -> None:
    report = write_report(_station_run(make_run, kit))
    s2 = page(report, "S2")
    assert "bay-2: serial SN-0043, firmware 1.2.4, plc on enx02" in s2.find_all("td", "station")[0].text()
    assert "firmware 1.2.4, serial SN-0043" in report.pages["S2"].root.find_all("p", "muted")[0].text()
    assert not page(report, "S3").find_all("td", "station")


def test_pdf_cover_and_sections_show_the_stations(make_run, kit: SimpleNamespace) -> None:
    pdf = parse(render_pdf_html(_station_run(make_run, kit)))
    cover = pdf.ids["cover-stations"].text()
    assert "bay-1: serial SN-0042" in cover and "bay-2: serial SN-0043" in cover
    assert "serial SN-0042, SN-0043" in pdf.ids["cover"].text()
    assert "bay-1: serial SN-0042" in pdf.ids["stations"].text()  # the run section
    assert len(pdf.root.find_all("td", "station")) == 2  # S1's and S2's sections


def test_a_run_without_stations_shows_none(full_run: Path) -> None:
    report = write_report(full_run)
    headers = [th.text() for th in report.index.ids["scenario-index"].find_all("th")]
    assert "Station" not in headers and "stations" not in report.index.ids
    assert not report.index.root.find_all("td", "station")
    assert not page(report, "S1").find_all("td", "station")
    assert "serial SN-0042" in report.index.root.find_all("p", "muted")[0].text()
    pdf = parse(render_pdf_html(full_run))
    assert "cover-stations" not in pdf.ids and not pdf.root.find_all("td", "station")
