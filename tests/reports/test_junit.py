"""junit.xml: well-formed, one suite per feature, verdicts mapped, counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

from harness.verdict.verdicts import Verdict
from reports.junit import write_junit, xml_safe
from reports.model import Results


def written(run_dir: Path) -> ET.Element:
    path = write_junit(Results.load(run_dir), run_dir / "junit.xml")
    # Parsing the file from disk is the well-formedness check: ElementTree rejects malformed XML.
    return ET.parse(path).getroot()


def test_one_suite_per_feature_with_correct_counts(full_run: Path) -> None:
    root = written(full_run)
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == [
        "interface4/session_setup.feature",
        "interface4/sequence.feature",
        "interface1/time.feature",
    ]
    counts = {
        name: {k: s.get(k) for k in ("tests", "failures", "errors", "skipped")} for name, s in suites.items()
    }
    assert counts == {
        "interface4/session_setup.feature": {"tests": "2", "failures": "1", "errors": "0", "skipped": "0"},
        "interface4/sequence.feature": {"tests": "1", "failures": "0", "errors": "0", "skipped": "1"},
        "interface1/time.feature": {"tests": "2", "failures": "0", "errors": "1", "skipped": "1"},
    }
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "5",
        "failures": "1",
        "errors": "1",
        "skipped": "2",
    }
    for suite in suites.values():
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)
        assert int(suite.get("skipped")) == sum(len(c.findall("skipped")) for c in cases)
    assert suites["interface4/session_setup.feature"].get("time") == "2.500"


def test_testcases_map_the_five_verdicts(full_run: Path) -> None:
    root = written(full_run)
    cases = {case.get("name").split(" ", 1)[0]: case for case in root.iter("testcase")}
    s1, s2, s3, s4, s5 = (cases[f"S{i}"] for i in range(1, 6))
    assert s1.get("classname") == "interface4/session_setup.feature"
    assert s1.get("name") == "S1 Scenario S1" and s1.get("time") == "1.250"
    assert [child.tag for child in s1] == ["properties"]  # PASS: nothing but its properties
    failure = s2.find("failure")
    assert failure is not None and failure.get("message") == "FAIL because of S2"
    assert "31.200 ms" in failure.text and "frames 7, 8" in failure.text
    assert s3.find("skipped").get("message") == "INCONCLUSIVE: INCONCLUSIVE because of S3"
    assert s4.find("skipped").get("message") == "NOT_APPLICABLE: NOT_APPLICABLE because of S4"
    error = s5.find("error")
    assert error is not None and error.get("message") == "ERROR because of S5"
    assert "address in use" in error.text
    assert s5.get("name") == "S5 <script>alert('x')</script>"


def test_properties_carry_verdict_and_requirements(full_run: Path) -> None:
    root = written(full_run)
    for case in root.iter("testcase"):
        props = [(p.get("name"), p.get("value")) for p in case.find("properties")]
        assert props[0][0] == "verdict" and props[0][1] in {v.value for v in Verdict}
    s2 = next(c for c in root.iter("testcase") if c.get("name").startswith("S2 "))
    props = [(p.get("name"), p.get("value")) for p in s2.find("properties")]
    assert props == [("verdict", "FAIL"), ("requirement", "DIN-V2G-DC-001"), ("interface", "4")]
    suite_props = {p.get("name"): p.get("value") for p in root.find("testsuite").find("properties")}
    assert suite_props["harness_version"] == "0.1.0" and suite_props["lab_sha256"] == "ab" * 32


def test_interrupted_run(interrupted_run: Path) -> None:
    root = written(interrupted_run)
    s2 = next(c for c in root.iter("testcase") if c.get("name").startswith("S2 "))
    assert ("interrupted", "true") in [(p.get("name"), p.get("value")) for p in s2.find("properties")]
    assert s2.find("skipped").get("message") == "INCONCLUSIVE: interrupted by SIGINT"
    suite_props = {p.get("name"): p.get("value") for p in root.find("testsuite").find("properties")}
    assert suite_props["interrupted"] == "SIGINT" and suite_props["finished"] == ""


def test_empty_run(make_run) -> None:
    root = written(make_run([]))
    assert root.findall("testsuite") == []
    assert [root.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["0", "0", "0", "0"]


def test_control_characters_do_not_break_the_xml(make_run, kit: SimpleNamespace) -> None:
    scenario = kit.scenario("C1", Verdict.FAIL, reason="DUT sent \x00\x1b[31m garbage \x7f")
    root = written(make_run([scenario]))
    failure = next(root.iter("failure"))
    assert failure.get("message") == "DUT sent \\x00\\x1b[31m garbage \x7f"


def test_xml_safe_keeps_legal_whitespace() -> None:
    assert xml_safe("a\tb\nc\rd") == "a\tb\nc\rd"
    assert xml_safe("\x0b\x0c") == "\\x0b\\x0c"
