"""coverage.json and the coverage matrix: which catalogue requirements the run checked, and how."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness.verdict.verdicts import Verdict
from reports.coverage import (
    COVERAGE_FILE,
    NOT_CHECKED,
    VIA_CHECK,
    VIA_TAG,
    build_coverage,
    standard_of,
    write_coverage,
)
from reports.html import render_html
from reports.model import CheckResult, RequirementResult, Results


def _check(requirement: str | None, verdict: Verdict) -> CheckResult:
    return CheckResult(
        requirement=requirement, spec={"kind": "present"}, description="d", verdict=verdict, reason="r"
    )


def _req(rid: str, *, interfaces: list[int], roles: list[str], scenarios: list[str] | None = None):
    return RequirementResult(
        id=rid,
        clause="c",
        text=f"text of {rid}",
        interfaces=interfaces,
        roles=roles,
        scenarios=scenarios or [],
    )


def test_standard_is_the_id_prefix() -> None:
    assert standard_of("DIN-SECC-TIME-01") == "DIN"
    assert standard_of("SEP2-CLIENT-01") == "SEP2"
    assert standard_of("NODASH") == "NODASH"


def test_full_run_requirements(full_run: Path) -> None:
    coverage = build_coverage(Results.load(full_run))
    by_id = {r.id: r for r in coverage.requirements}
    dc1 = by_id["DIN-V2G-DC-001"]
    # S1 PASS and S2 FAIL both tag it and have a check citing it: worst scenario verdict wins.
    assert dc1.verdict == "FAIL" and dc1.standard == "DIN"
    assert [(s.id, s.via, s.verdict, s.checks_verdict) for s in dc1.scenarios] == [
        ("S1", (VIA_TAG, VIA_CHECK), "PASS", "PASS"),
        ("S2", (VIA_TAG, VIA_CHECK), "FAIL", "FAIL"),
    ]
    # Tagged only, no check cites it: the scenario's verdict stands, no checks verdict.
    dc2 = by_id["DIN-V2G-DC-002"]
    assert dc2.verdict == "INCONCLUSIVE" and dc2.scenarios[0].checks_verdict is None
    assert [r.id for r in coverage.unchecked] == ["SEP2-TIME-001"]
    assert by_id["SEP2-TIME-001"].status == NOT_CHECKED
    assert coverage.unknown == (("SEP2-UNLISTED-9", ("S4",)),)


def test_matrix_per_standard_interface_and_role(full_run: Path) -> None:
    coverage = build_coverage(Results.load(full_run))
    cells = {(m.standard, m.interface, m.role): m for m in coverage.matrix}
    assert list(cells) == [("DIN", 4, "SECC"), ("SEP2", 1, "PFE"), ("SEP2", 3, "PFE")]
    din = cells[("DIN", 4, "SECC")]
    assert din.total == 2 and din.count("FAIL") == 1 and din.count("INCONCLUSIVE") == 1
    assert din.dut_role  # the fixture's DUT has roles SECC and EVSE
    sep2 = cells[("SEP2", 1, "PFE")]
    assert sep2.count(NOT_CHECKED) == 1 and sep2.total == 1 and not sep2.dut_role


def test_a_check_citing_an_untagged_requirement_counts(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([kit.scenario("S1", Verdict.PASS, checks=[_check("X-EV-01", Verdict.FAIL)])])
    results = Results.load(run_dir)
    results.requirements = [_req("X-EV-01", interfaces=[4], roles=["ev"])]
    coverage = build_coverage(results)
    (row,) = coverage.requirements
    assert [(s.id, s.via, s.checks_verdict, s.checks) for s in row.scenarios] == [
        ("S1", (VIA_CHECK,), "FAIL", 1)
    ]
    # The requirement takes the scenario's verdict; the failing check shows beside it.
    assert row.verdict == "PASS"


def test_a_new_catalogue_file_needs_no_code(make_run, kit: SimpleNamespace) -> None:
    """A standard nobody told this module about (say der.yaml's DER-...) gets its own rows."""
    run_dir = make_run([kit.scenario("D1", Verdict.FAIL, interfaces=[9], requirements=["DER-INV-01"])])
    results = Results.load(run_dir)
    results.requirements = [
        _req("DER-INV-01", interfaces=[9], roles=["der"], scenarios=["D1"]),
        _req("DER-INV-02", interfaces=[9], roles=["der"]),
    ]
    coverage = build_coverage(results)
    (cell,) = coverage.matrix
    assert (cell.standard, cell.interface, cell.role) == ("DER", 9, "der")
    assert cell.count("FAIL") == 1 and cell.count(NOT_CHECKED) == 1


def test_scenario_named_by_the_catalogue_but_not_in_the_run(interrupted_run: Path) -> None:
    coverage = build_coverage(Results.load(interrupted_run))
    dc2 = {r.id: r for r in coverage.requirements}["DIN-V2G-DC-002"]
    assert [(s.id, s.in_run, s.verdict) for s in dc2.scenarios] == [("S3", False, None)]
    assert dc2.verdict is None


def test_requirement_without_interface_or_role(make_run) -> None:
    results = Results.load(make_run([]))
    results.requirements = [_req("Z-01", interfaces=[], roles=[])]
    (cell,) = build_coverage(results).matrix
    assert (cell.interface, cell.role, cell.dut_role) == (None, None, False)


def test_coverage_json(full_run: Path) -> None:
    path = write_coverage(Results.load(full_run), full_run)
    assert path == full_run / COVERAGE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["unchecked"] == ["SEP2-TIME-001"]
    assert data["not_in_catalogue"] == {"SEP2-UNLISTED-9": ["S4"]}
    din = next(m for m in data["matrix"] if m["standard"] == "DIN")
    assert din["counts"]["FAIL"] == 1 and din["counts"][NOT_CHECKED] == 0 and din["total"] == 2
    dc1 = next(r for r in data["requirements"] if r["id"] == "DIN-V2G-DC-001")
    assert dc1["scenarios"][1] == {
        "id": "S2",
        "in_run": True,
        "via": ["tag", "check"],
        "verdict": "FAIL",
        "checks_verdict": "FAIL",
        "checks": 1,
    }


def test_html_shows_the_matrix(full_run: Path) -> None:
    html = render_html(Results.load(full_run), full_run)
    start = html.index('<table id="coverage-matrix">')
    matrix = html[start : html.index("</table>", start)]
    assert matrix.count("<tr data-standard=") == 3
    assert (
        '<tr data-standard="SEP2"><td class="mono">SEP2</td><td>1</td><td>PFE <span class="muted">(not a role'
        in matrix
    )
