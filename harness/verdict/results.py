"""The results of a run as written to ``results.json``: the one edge every report is rendered from.

The scenario runner and the pytest plugin write these, ``vgi analyze`` re-judges them, and the reports
only read them: the model sits below all three.  ``vgi report RUN_DIR`` re-renders HTML and JUnit from
this file (plus the per-scenario timelines in ``timelines/``), so everything a report shows must be here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.verdict.verdicts import Verdict

RESULTS_SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
TIMELINES_DIR = "timelines"
CAPTURES_DIR = "captures"
LOGS_DIR = "logs"
# Where a re-run scenario's earlier attempts keep their artifacts: attempts/<scenario>/<n>/<dir>/<file>.
ATTEMPTS_DIR = "attempts"
# A copy of the lab config the run used, as the run started (the PDF shows its PICS and PIXIT).
LAB_COPY_FILE = "lab.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabRef(_Model):
    name: str
    file: str
    sha256: str


class DutIdentity(_Model):
    vendor: str
    model: str
    firmware: str
    serial: str
    roles: list[str]


class StationInfo(_Model):
    """One station of a lab with several (units of the DUT, or benches): the one a scenario ran on."""

    name: str
    serial: str = Field(description="the unit's serial: the station's own, else the lab's")
    firmware: str = Field(description="the unit's firmware: the station's own, else the lab's")
    location: str = Field(default="", description="where the unit is, e.g. 'plc on eth1'")


class RunInfo(_Model):
    harness_version: str
    git_commit: str | None = None
    lab: LabRef
    dut: DutIdentity
    started: str  # ISO 8601 UTC
    finished: str | None = None
    command: list[str] = Field(default_factory=list)
    network: str = Field(description="'netns' (veth pair between namespaces), 'loopback', or 'external'")
    network_note: str | None = None
    capture_backend: str = Field(
        description="packet, dumpcap, scapy or tap: which backend produced the evidence"
    )
    capture_note: str | None = None
    interrupted: str | None = Field(default=None, description="signal name when the run was stopped")
    workers: int = Field(default=1, description="how many parallel workers (benches) ran the scenarios")
    shard: str | None = Field(default=None, description="'I/N' when this run is one slice of a campaign")
    merged_from: list[str] = Field(
        default_factory=list, description="run directories `vgi merge` combined into this one"
    )
    stations: list[StationInfo] = Field(
        default_factory=list,
        description="the lab's stations the run used (one per worker); empty for a lab without stations",
    )
    reruns: int = Field(
        default=0,
        description="how many times a scenario INCONCLUSIVE on a tester precondition was run again "
        "(`vgi run --reruns`)",
    )


class Evidence(_Model):
    capture: str  # path relative to the run directory
    frames: list[int] = Field(default_factory=list)


class StepResult(_Model):
    keyword: str
    text: str
    status: str  # passed, failed, skipped, not_run
    duration_s: float = 0.0
    error: str | None = None


class CheckResult(_Model):
    """One expectation evaluated over the timeline; ``spec`` is enough to evaluate it again."""

    requirement: str | None = None
    spec: dict[str, Any]
    description: str
    verdict: Verdict
    reason: str
    frames: list[int] = Field(default_factory=list)
    measured_s: float | None = Field(
        default=None,
        description="for a timing check, the measured time in seconds; the report shows it beside the "
        "spec's limit (limit_s, min_s, max_s, ...). When absent, the report looks for it in the reason.",
    )


class EarlierAttempt(_Model):
    """An attempt of a scenario that ended INCONCLUSIVE on a tester precondition and was run again."""

    verdict: Verdict
    reason: str
    started: str | None = None
    duration_s: float = 0.0
    artifacts: list[str] = Field(
        default_factory=list,
        description="its capture, key log, timeline and logs, relative to the run directory",
    )


class ScenarioResult(_Model):
    id: str
    feature: str  # feature file path relative to the features directory
    name: str
    interfaces: list[int]
    tags: list[str]
    requirements: list[str]
    verdict: Verdict
    reason: str
    duration_s: float = 0.0
    started: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    steps: list[StepResult] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    timeline: str | None = Field(default=None, description="timeline JSON path relative to the run directory")
    endpoints: dict[str, list[str]] = Field(
        default_factory=dict, description="addresses per party, e.g. {'tester': [...], 'dut': [...]}"
    )
    interrupted: bool = False
    station: StationInfo | None = Field(
        default=None, description="the station the scenario ran on; None for a lab without stations"
    )
    earlier_attempts: list[EarlierAttempt] = Field(
        default_factory=list,
        description="attempts that ended INCONCLUSIVE because the tester's own conduct missed a "
        "precondition (e.g. its timing on a loaded machine) and were run again; the verdict is the last "
        "attempt's",
    )


class RequirementResult(_Model):
    id: str
    clause: str
    text: str
    interfaces: list[int]
    roles: list[str]
    scenarios: list[str]
    verdict: Verdict | None = None  # worst verdict over its scenarios; None when no scenario ran


class Results(_Model):
    schema_version: int = RESULTS_SCHEMA_VERSION
    run: RunInfo
    scenarios: list[ScenarioResult]
    requirements: list[RequirementResult] = Field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for s in self.scenarios:
            counts[s.verdict.value] += 1
        return counts

    @classmethod
    def load(cls, run_dir: Path) -> Results:
        return cls.model_validate_json((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))

    def save(self, run_dir: Path) -> None:
        path = run_dir / RESULTS_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file, even if the run is killed mid-write
