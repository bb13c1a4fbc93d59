"""The result model, re-exported where reports and older callers have always found it.

The model lives in :mod:`harness.verdict.results`, below the scenario runner and the reports alike
(reports read results only); this module only names it for code written against ``reports.model``.
"""

from harness.verdict.results import (
    CAPTURES_DIR,
    RESULTS_FILE,
    RESULTS_SCHEMA_VERSION,
    TIMELINES_DIR,
    CheckResult,
    DutIdentity,
    Evidence,
    LabRef,
    RequirementResult,
    Results,
    RunInfo,
    ScenarioResult,
    StationInfo,
    StepResult,
)

__all__ = [
    "CAPTURES_DIR",
    "RESULTS_FILE",
    "RESULTS_SCHEMA_VERSION",
    "TIMELINES_DIR",
    "CheckResult",
    "DutIdentity",
    "Evidence",
    "LabRef",
    "RequirementResult",
    "Results",
    "RunInfo",
    "ScenarioResult",
    "StationInfo",
    "StepResult",
]
