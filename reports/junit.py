"""``junit.xml``: the run's verdicts in the JUnit XML dialect CI systems read.

One ``<testsuite>`` per feature file, one ``<testcase>`` per scenario.  JUnit knows only pass, failure,
error and skipped, so the five verdicts map as: PASS passes; FAIL is a ``<failure>`` (the DUT is
wrong); ERROR is an ``<error>`` (the harness failed); INCONCLUSIVE and NOT_APPLICABLE are
``<skipped>`` with the verdict named in the message, because neither says anything about the DUT's
conformance.  The exact verdict and the requirements are kept as ``<properties>`` of each testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.verdict.results import Results, ScenarioResult
from harness.verdict.verdicts import Verdict

JUNIT_FILE = "junit.xml"

# XML 1.0 (section 2.2) forbids most C0 control characters even as character references; a decode
# error's text or a DUT-supplied string can carry them, and one would make the whole file unreadable.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML 1.0 cannot carry shown as ``\\xNN`` instead."""
    return _XML_FORBIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _testcase(scenario: ScenarioResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": xml_safe(scenario.feature),
            "name": xml_safe(f"{scenario.id} {scenario.name}"),
            "time": _seconds(scenario.duration_s),
        },
    )
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", {"name": "verdict", "value": scenario.verdict.value})
    for requirement in scenario.requirements:
        ET.SubElement(properties, "property", {"name": "requirement", "value": xml_safe(requirement)})
    for interface in scenario.interfaces:
        ET.SubElement(properties, "property", {"name": "interface", "value": str(interface)})
    if scenario.interrupted:
        ET.SubElement(properties, "property", {"name": "interrupted", "value": "true"})

    reason = xml_safe(scenario.reason)
    if scenario.verdict is Verdict.FAIL:
        ET.SubElement(case, "failure", {"message": reason, "type": Verdict.FAIL.value}).text = _details(
            scenario
        )
    elif scenario.verdict is Verdict.ERROR:
        ET.SubElement(case, "error", {"message": reason, "type": Verdict.ERROR.value}).text = _details(
            scenario
        )
    elif scenario.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
        ET.SubElement(case, "skipped", {"message": f"{scenario.verdict.value}: {reason}"})
    return case


def _details(scenario: ScenarioResult) -> str:
    """The checks and failed steps behind a FAIL or ERROR, one per line, for the CI log view."""
    lines = [scenario.reason]
    for check in scenario.checks:
        if check.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE):
            frames = f" (frames {', '.join(map(str, check.frames))})" if check.frames else ""
            label = f"[{check.requirement}] " if check.requirement else ""
            lines.append(f"{check.verdict.value}: {label}{check.description}: {check.reason}{frames}")
    for step in scenario.steps:
        if step.error:
            lines.append(f"step '{step.keyword} {step.text}' {step.status}: {step.error}")
    return xml_safe("\n".join(lines))


def _suite(feature: str, scenarios: list[ScenarioResult], timestamp: str) -> ET.Element:
    verdicts = [s.verdict for s in scenarios]
    suite = ET.Element(
        "testsuite",
        {
            "name": xml_safe(feature),
            "tests": str(len(scenarios)),
            "failures": str(verdicts.count(Verdict.FAIL)),
            "errors": str(verdicts.count(Verdict.ERROR)),
            "skipped": str(verdicts.count(Verdict.INCONCLUSIVE) + verdicts.count(Verdict.NOT_APPLICABLE)),
            "time": _seconds(sum(s.duration_s for s in scenarios)),
            "timestamp": timestamp,
        },
    )
    for scenario in scenarios:
        suite.append(_testcase(scenario))
    return suite


def build_junit(results: Results) -> ET.ElementTree:
    """The JUnit document for ``results``; features appear in the order they first ran."""
    by_feature: dict[str, list[ScenarioResult]] = {}
    for scenario in results.scenarios:
        by_feature.setdefault(scenario.feature, []).append(scenario)
    run = results.run
    root = ET.Element("testsuites", {"name": xml_safe(f"vgi {run.dut.vendor} {run.dut.model}")})
    suite_properties = {
        "harness_version": run.harness_version,
        "git_commit": run.git_commit or "",
        "lab": run.lab.name,
        "lab_sha256": run.lab.sha256,
        "dut": f"{run.dut.vendor} {run.dut.model} {run.dut.firmware} {run.dut.serial}",
        "started": run.started,
        "finished": run.finished or "",
        "interrupted": run.interrupted or "",
    }
    for feature, scenarios in by_feature.items():
        timestamp = next((s.started for s in scenarios if s.started), run.started)
        suite = _suite(feature, scenarios, timestamp)
        properties = ET.Element("properties")
        for name, value in suite_properties.items():
            ET.SubElement(properties, "property", {"name": name, "value": xml_safe(value)})
        suite.insert(0, properties)
        root.append(suite)
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(suite.get(attribute, "0")) for suite in root)))
    root.set("time", _seconds(sum(s.duration_s for s in results.scenarios)))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: Results, path: Path) -> Path:
    build_junit(results).write(path, encoding="utf-8", xml_declaration=True)
    return path
