"""``allure-results/``: the run's scenarios as Allure test results, with their evidence attached.

During ``vgi run``, allure-pytest-bdd writes one result per scenario as pytest sees it.  This module
rewrites each of them from results.json (the harness's verdict, steps, checks, reason) and attaches
the evidence: the capture, its annotated copy (reports.annotate), a timeline excerpt as text and the
message sequence chart as SVG.  It keeps what only allure-pytest-bdd knows (the feature's title and
description, the example parameters, host and thread labels, start and stop).  ``vgi report RUN_DIR
--allure`` instead writes the directory afresh from results.json alone, without rerunning anything.

Format: Allure 2 result files (``<uuid>-result.json``) and attachments (``<uuid>-<kind>-attachment.<ext>``)
in one flat directory, read by ``allure generate`` / ``allure serve``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from capture.timeline import TimelineEvent
from harness.verdict.results import CheckResult, Results, ScenarioResult
from harness.verdict.verdicts import Verdict
from reports.annotate import annotated_name, describe_event
from reports.junit import xml_safe
from reports.sequence_chart import build_chart
from reports.timeline_file import load_timeline

ALLURE_DIR = "allure-results"
RESULT_SUFFIX = "-result.json"
ENVIRONMENT_FILE = "environment.properties"
TEMPLATES_DIR = Path(__file__).parent / "templates"
CHART_TEMPLATE = "sequence_chart.svg.j2"
# Allure's statuses for the five verdicts.  INCONCLUSIVE is "unknown" (the test could not decide,
# neither product nor harness fault); NOT_APPLICABLE is "skipped" (PICS says the feature is absent).
ALLURE_STATUS = {
    Verdict.PASS: "passed",
    Verdict.FAIL: "failed",
    Verdict.ERROR: "broken",
    Verdict.INCONCLUSIVE: "unknown",
    Verdict.NOT_APPLICABLE: "skipped",
}
# Step statuses in results.json (plugin.StepResult) -> Allure.
STEP_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "not_run": "skipped"}
# The timeline excerpt: events of frames that checks which did not pass cite come first, then the
# timeline from its start, up to this many lines each; the timeline file holds everything.
MAX_EXCERPT_EVENTS = 300
# Identity of a result in a fresh directory: uuid5 of the scenario id under this namespace, so
# regenerating twice writes the same files.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vgi-harness:allure")
# Labels allure-pytest-bdd writes that a rewrite keeps (the feature's title, where it ran).
_KEPT_LABELS = frozenset({"feature", "host", "thread", "framework", "language"})


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def history_id(scenario: ScenarioResult) -> str:
    """The same scenario has the same history in every run, whichever way its result was written."""
    return hashlib.md5(scenario.id.encode("utf-8"), usedforsecurity=False).hexdigest()


def excerpt(scenario: ScenarioResult, events: Sequence[TimelineEvent], note: str | None) -> str:
    """The timeline as text: ``frame  +ms  src -> dst  message``, failing frames first."""
    t0 = events[0].t if events else 0.0

    def line(event: TimelineEvent) -> str:
        ports = f" {event.sport}->{event.dport}" if event.sport is not None else ""
        return (
            f"{event.frame:>6} {(event.t - t0) * 1000:+10.1f} ms  {event.src} -> {event.dst}{ports}  "
            + describe_event(event)
        )

    lines = [f"Scenario {scenario.id}: {scenario.verdict.value}. {scenario.reason}", ""]
    if note:
        lines += [note, ""]
    cited = {f for check in scenario.checks if check.verdict is not Verdict.PASS for f in check.frames}
    if cited:
        lines.append("Frames cited by checks that did not pass:")
        lines += [line(e) for e in events if e.frame in cited][:MAX_EXCERPT_EVENTS]
        lines.append("")
    lines.append(f"Timeline ({len(events)} events, frame numbers as in the capture):")
    lines += [line(e) for e in events[:MAX_EXCERPT_EVENTS]]
    if len(events) > MAX_EXCERPT_EVENTS:
        lines.append(f"... {len(events) - MAX_EXCERPT_EVENTS} more events in {scenario.timeline}")
    return "\n".join(lines) + "\n"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # A decode error's text can carry control characters, which no XML document may hold.
        finalize=lambda value: xml_safe(value) if isinstance(value, str) else value,
    )
    env.filters["num"] = lambda value: f"{value:.1f}"
    return env


def chart_svg(scenario: ScenarioResult, events: Sequence[TimelineEvent], env: Environment) -> str | None:
    """The scenario's message sequence chart as one standalone SVG; None without events."""
    if not events:
        return None
    chart = build_chart(events, scenario.endpoints)
    placed, offset = [], 0.0
    for segment in chart.segments:
        placed.append((segment, offset))
        offset += segment.height
    return env.get_template(CHART_TEMPLATE).render(
        chart=chart, segments=placed, height=offset, title=scenario.id
    )


def _check_step(check: CheckResult, start: int) -> dict[str, Any]:
    name = f"{check.verdict.value} {check.requirement or '-'}: {check.description}"
    step: dict[str, Any] = {
        "name": name,
        "status": ALLURE_STATUS[check.verdict],
        "statusDetails": {"message": check.reason},
        "stage": "finished",
        "start": start,
        "stop": start,
        "parameters": [{"name": "frames", "value": ", ".join(map(str, check.frames)) or "none"}],
    }
    if check.measured_s is not None:
        step["parameters"].append({"name": "measured (ms)", "value": f"{check.measured_s * 1000:.3f}"})
    return step


def _steps(scenario: ScenarioResult, start: int) -> list[dict[str, Any]]:
    steps = []
    at = start
    for item in scenario.steps:
        stop = at + int(item.duration_s * 1000)
        step: dict[str, Any] = {
            "name": f"{item.keyword} {item.text}",
            "status": STEP_STATUS.get(item.status, "unknown"),
            "stage": "finished",
            "start": at,
            "stop": stop,
        }
        if item.error:
            step["statusDetails"] = {"message": item.error}
        steps.append(step)
        at = stop
    if scenario.checks:
        steps.append(
            {
                "name": f"Checks over the capture ({len(scenario.checks)})",
                "status": ALLURE_STATUS[scenario.verdict],
                "stage": "finished",
                "start": at,
                "stop": at,
                "steps": [_check_step(check, at) for check in scenario.checks],
            }
        )
    return steps


def _trace(scenario: ScenarioResult) -> str:
    lines = [
        f"{c.verdict.value} {c.requirement or '-'} {c.description}: {c.reason} (frames {c.frames})"
        for c in scenario.checks
        if c.verdict is not Verdict.PASS
    ]
    return "\n".join(lines)


class _Writer:
    def __init__(self, results: Results, run_dir: Path) -> None:
        self.results = results
        self.run_dir = run_dir
        self.out = run_dir / ALLURE_DIR
        self.env = _environment()

    def attachments(self, scenario: ScenarioResult, uid: str) -> list[dict[str, str]]:
        attached = []
        for evidence in scenario.evidence[:1]:  # the capture the timeline and the checks refer to
            for kind, relative in (
                ("capture", evidence.capture),
                ("annotated", annotated_name(evidence.capture)),
            ):
                source = self.run_dir / relative
                if Path(relative).is_absolute() or ".." in Path(relative).parts or not source.is_file():
                    continue
                name = f"{uid}-{kind}-attachment.pcapng"
                shutil.copyfile(source, self.out / name)
                attached.append(
                    {"name": Path(relative).name, "source": name, "type": "application/vnd.tcpdump.pcap"}
                )
        timeline = load_timeline(self.run_dir, scenario.timeline)
        name = f"{uid}-timeline-attachment.txt"
        (self.out / name).write_text(excerpt(scenario, timeline.events, timeline.note), encoding="utf-8")
        attached.append({"name": "timeline excerpt", "source": name, "type": "text/plain"})
        svg = chart_svg(scenario, timeline.events, self.env)
        if svg is not None:
            name = f"{uid}-sequence-attachment.svg"
            (self.out / name).write_text(svg, encoding="utf-8")
            attached.append({"name": "message sequence chart", "source": name, "type": "image/svg+xml"})
        return attached

    def result(self, scenario: ScenarioResult, found_result: dict[str, Any] | None) -> dict[str, Any]:
        """The Allure result of ``scenario``; what only allure-pytest-bdd knew comes from its result."""
        kept = found_result or {}
        uid = kept.get("uuid") or str(uuid.uuid5(_UUID_NAMESPACE, scenario.id))
        start = kept.get("start") or _ms(scenario.started) or _ms(self.results.run.started) or 0
        stop = kept.get("stop") or start + int(scenario.duration_s * 1000)
        labels = [label for label in kept.get("labels", []) if label.get("name") in _KEPT_LABELS]
        if not any(label["name"] == "feature" for label in labels):
            labels.append({"name": "feature", "value": scenario.feature})
        labels += [{"name": "suite", "value": scenario.feature}]
        labels += [{"name": "parentSuite", "value": f"Interface {i}"} for i in scenario.interfaces[:1]]
        labels += [{"name": "tag", "value": tag} for tag in scenario.tags]
        labels.append({"name": "tag", "value": f"verdict:{scenario.verdict.value}"})
        message = f"{scenario.verdict.value}: {scenario.reason}"
        if scenario.interrupted:
            message += " (the run was interrupted)"
        result: dict[str, Any] = {
            "uuid": uid,
            "historyId": history_id(scenario),
            "testCaseId": history_id(scenario),
            "name": f"{scenario.id}: {scenario.name}",
            "fullName": f"{scenario.feature}:{scenario.id}",
            "status": ALLURE_STATUS[scenario.verdict],
            "statusDetails": {"message": message, "trace": _trace(scenario)},
            "stage": "finished",
            "start": start,
            "stop": stop,
            "labels": labels,
            "parameters": kept.get("parameters", []),
            "steps": _steps(scenario, start),
            "attachments": self.attachments(scenario, uid),
        }
        if kept.get("description"):
            result["description"] = kept["description"]
        return result

    def write(self, scenario: ScenarioResult, found: tuple[Path, dict[str, Any]] | None) -> Path:
        """Write the result of ``scenario``, over the file already written for it, if any."""
        result = self.result(scenario, found[1] if found else None)
        # allure-pytest-bdd's file names need not hold the result's uuid: rewrite the file in place.
        path = found[0] if found else self.out / f"{result['uuid']}{RESULT_SUFFIX}"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    def environment(self) -> None:
        run = self.results.run
        facts = {
            "lab": run.lab.name,
            "lab.sha256": run.lab.sha256,
            "dut.vendor": run.dut.vendor,
            "dut.model": run.dut.model,
            "dut.firmware": run.dut.firmware,
            "dut.serial": run.dut.serial,
            "harness.version": run.harness_version,
            "harness.commit": run.git_commit or "unknown",
            "network": run.network,
            "capture.backend": run.capture_backend,
        }
        text = "".join(f"{key}={_property(value)}\n" for key, value in facts.items())
        (self.out / ENVIRONMENT_FILE).write_text(text, encoding="utf-8")


def _property(value: object) -> str:
    """A value of a Java properties file: backslashes and line breaks escaped."""
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


# Where plugin.scenario_meta's example suffix `` (k=v, k=v)`` may start in a scenario name, and the
# separator between its pairs.
_SUFFIX_START = re.compile(r" \((?=[\w.-]+=)")
_PAIR_SEPARATOR = re.compile(r", (?=[\w.-]+=)")


def _examples(name: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every way to read ``name`` as template plus example suffix: (template, {key: value})."""
    if not name.endswith(")"):
        return
    for start in _SUFFIX_START.finditer(name):
        pairs = _PAIR_SEPARATOR.split(name[start.end() : -1])
        example = dict(pair.partition("=")[::2] for pair in pairs)
        yield name[: start.start()], example


def _same_scenario(scenario: ScenarioResult, name: str, parameters: list[dict[str, Any]]) -> bool:
    """Whether allure-pytest-bdd's ``name`` and ``parameters`` describe ``scenario``: it names the
    example values the steps use (a subset) and puts each in place of ``<key>`` in the template."""
    given = {str(p["name"]): str(p.get("value")) for p in parameters}
    if not given and scenario.name == name:
        return True
    for template, example in _examples(scenario.name):
        if any(example.get(key) != value for key, value in given.items()):
            continue
        rendered = template
        for key, value in example.items():
            rendered = rendered.replace(f"<{key}>", value)
        if rendered == name:
            return True
    return False


def _match(
    scenarios: Sequence[ScenarioResult], found_results: list[tuple[Path, dict[str, Any]]]
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Scenario id -> the result already written for it: by this module (same history id) or by
    allure-pytest-bdd (same feature file, name and example)."""
    ids = {history_id(scenario): scenario.id for scenario in scenarios}
    matched: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path, found in found_results:
        own = ids.get(str(found.get("historyId")))
        if own is not None and own not in matched:
            matched[own] = (path, found)
    by_feature: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        by_feature.setdefault(scenario.feature, []).append(scenario)
    for path, found in found_results:
        if found.get("historyId") in ids:
            continue
        feature, _, name = str(found.get("fullName", "")).partition(":")
        parameters = [p for p in found.get("parameters", []) if isinstance(p, dict) and "name" in p]
        for scenario in by_feature.get(feature, []):
            if scenario.id not in matched and _same_scenario(scenario, name, parameters):
                matched[scenario.id] = (path, found)
                break
    return matched


def write_allure(results: Results, run_dir: Path, *, regenerate: bool = False) -> Path:
    """Write one Allure result per scenario of ``results`` into ``run_dir/allure-results``.

    ``regenerate``: start from an empty directory (``vgi report --allure``).  Otherwise the results
    allure-pytest-bdd wrote are rewritten in place, keeping their identity, and scenarios without one
    get a new result.  Returns the directory.
    """
    run_dir = Path(run_dir)
    writer = _Writer(results, run_dir)
    if regenerate and writer.out.exists():
        shutil.rmtree(writer.out)
    writer.out.mkdir(parents=True, exist_ok=True)
    found_results: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(writer.out.glob("*" + RESULT_SUFFIX)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours to judge; allure itself reports unreadable results
        if isinstance(data, dict) and data.get("uuid"):
            found_results.append((path, data))
    matched = _match(results.scenarios, found_results)
    for scenario in results.scenarios:
        writer.write(scenario, matched.get(scenario.id))
    writer.environment()
    return writer.out
