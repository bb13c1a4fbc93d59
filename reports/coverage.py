"""The requirement coverage matrix of a run: ``coverage.json`` and the coverage part of the HTML report.

Everything comes from ``results.json``: its ``requirements`` list is the catalogue as it stood when the
run was made (every YAML file of ``harness/verdict/requirements``, so a new catalogue file shows up here
without any change), each scenario's ``requirements`` are its feature file's ``@req`` tags, and each
check names the requirement it judged.  A scenario checks a requirement when it is tagged with it or
when one of its checks cites it.

A requirement's verdict is the worst verdict of the scenarios of this run that check it (the same
rule the run itself applies when it writes ``results.json``); beside each scenario the verdict of the
checks that cite the requirement is kept too, because a scenario can fail on another requirement.

The standard of a requirement is the prefix of its id (``DIN-SECC-01`` -> ``DIN``): every catalogue
file uses one prefix, so this groups requirements by catalogue file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.verdict.results import Results
from harness.verdict.verdicts import Verdict, combine

COVERAGE_FILE = "coverage.json"
COVERAGE_SCHEMA_VERSION = 1

# The status of a requirement no scenario of the run checked, beside the five verdicts.
NOT_CHECKED = "NOT_CHECKED"
# Column order of the matrix: the five verdicts as the report orders them, then the gap.
STATUS_ORDER = (
    Verdict.PASS.value,
    Verdict.FAIL.value,
    Verdict.INCONCLUSIVE.value,
    Verdict.NOT_APPLICABLE.value,
    Verdict.ERROR.value,
    NOT_CHECKED,
)

# How a scenario came to check a requirement.
VIA_TAG = "tag"  # the feature file tags the scenario @req:<id>
VIA_CHECK = "check"  # one of the scenario's checks cites the requirement


def standard_of(requirement_id: str) -> str:
    """The standard a requirement belongs to: the prefix of its id before the first '-'."""
    return requirement_id.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class ScenarioCoverage:
    """One scenario that checks a requirement, as this run saw it."""

    id: str
    in_run: bool  # False: results.json names it for the requirement, but it did not run
    via: tuple[str, ...]  # VIA_TAG and/or VIA_CHECK
    verdict: str | None  # the scenario's verdict; None when it did not run
    checks_verdict: str | None  # worst verdict of its checks citing the requirement; None: none cite it
    checks: int  # how many of its checks cite the requirement


@dataclass(frozen=True, slots=True)
class RequirementCoverage:
    id: str
    standard: str
    clause: str
    text: str
    interfaces: tuple[int, ...]
    roles: tuple[str, ...]
    scenarios: tuple[ScenarioCoverage, ...]
    verdict: str | None  # None: no scenario of this run checked it

    @property
    def status(self) -> str:
        return self.verdict or NOT_CHECKED


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """How the requirements of one standard, interface and DUT role fared in the run."""

    standard: str
    interface: int | None  # None: the requirement names no interface
    role: str | None  # None: the requirement names no role
    dut_role: bool  # the run's DUT has this role (a gap elsewhere is not this DUT's gap)
    counts: tuple[int, ...]  # in STATUS_ORDER
    total: int

    def count(self, status: str) -> int:
        return self.counts[STATUS_ORDER.index(status)]


@dataclass(frozen=True, slots=True)
class Coverage:
    requirements: tuple[RequirementCoverage, ...]
    matrix: tuple[MatrixRow, ...]
    # Requirement ids that scenarios tag or checks cite but the catalogue does not hold, with who does.
    unknown: tuple[tuple[str, tuple[str, ...]], ...]
    dut_roles: tuple[str, ...]

    @property
    def unchecked(self) -> tuple[RequirementCoverage, ...]:
        return tuple(r for r in self.requirements if r.verdict is None)


def _worst(verdicts: Iterable[Verdict]) -> Verdict | None:
    verdicts = list(verdicts)
    return combine(verdicts) if verdicts else None


def build_coverage(results: Results) -> Coverage:
    by_id = {s.id: s for s in results.scenarios}
    tagged: dict[str, list[str]] = {}
    cited: dict[str, dict[str, list[Verdict]]] = {}  # requirement -> scenario -> its checks' verdicts
    for scenario in results.scenarios:
        for requirement in scenario.requirements:
            tagged.setdefault(requirement, []).append(scenario.id)
        for check in scenario.checks:
            if check.requirement:
                cited.setdefault(check.requirement, {}).setdefault(scenario.id, []).append(check.verdict)

    rows = []
    for requirement in results.requirements:
        tags = tagged.get(requirement.id, [])
        checks = cited.get(requirement.id, {})
        # The catalogue's own list, the @req tags and the citing checks, in that order, once each.
        ids = list(dict.fromkeys([*requirement.scenarios, *tags, *checks]))
        scenarios = []
        for sid in ids:
            scenario = by_id.get(sid)
            via = tuple(name for name, hit in ((VIA_TAG, sid in tags), (VIA_CHECK, sid in checks)) if hit)
            checks_verdict = _worst(checks.get(sid, []))
            scenarios.append(
                ScenarioCoverage(
                    id=sid,
                    in_run=scenario is not None,
                    via=via,
                    verdict=None if scenario is None else scenario.verdict.value,
                    checks_verdict=None if checks_verdict is None else checks_verdict.value,
                    checks=len(checks.get(sid, [])),
                )
            )
        verdict = _worst(by_id[s.id].verdict for s in scenarios if s.in_run)
        rows.append(
            RequirementCoverage(
                id=requirement.id,
                standard=standard_of(requirement.id),
                clause=requirement.clause,
                text=requirement.text,
                interfaces=tuple(requirement.interfaces),
                roles=tuple(requirement.roles),
                scenarios=tuple(scenarios),
                verdict=None if verdict is None else verdict.value,
            )
        )

    known = {r.id for r in results.requirements}
    unknown = {}
    for requirement in [*tagged, *cited]:
        if requirement not in known:
            unknown[requirement] = tuple(
                dict.fromkeys([*tagged.get(requirement, []), *cited.get(requirement, {})])
            )
    dut_roles = tuple(results.run.dut.roles)
    return Coverage(tuple(rows), _matrix(rows, dut_roles), tuple(unknown.items()), dut_roles)


def _matrix(rows: list[RequirementCoverage], dut_roles: tuple[str, ...]) -> tuple[MatrixRow, ...]:
    cells: dict[tuple[str, int | None, str | None], list[str]] = {}
    for row in rows:
        for interface in row.interfaces or (None,):
            for role in row.roles or (None,):
                cells.setdefault((row.standard, interface, role), []).append(row.status)
    ours = {r.lower() for r in dut_roles}

    def order(key: tuple[str, int | None, str | None]) -> tuple:
        standard, interface, role = key
        return (standard, interface is None, interface or 0, role or "")

    return tuple(
        MatrixRow(
            standard=standard,
            interface=interface,
            role=role,
            dut_role=role is not None and role.lower() in ours,
            counts=tuple(statuses.count(s) for s in STATUS_ORDER),
            total=len(statuses),
        )
        for (standard, interface, role), statuses in sorted(cells.items(), key=lambda kv: order(kv[0]))
    )


def coverage_document(coverage: Coverage) -> dict[str, Any]:
    """``coverage.json`` as a JSON-ready dict (schema version, matrix, requirements, gaps)."""
    return {
        "schema_version": COVERAGE_SCHEMA_VERSION,
        "statuses": list(STATUS_ORDER),
        "dut_roles": list(coverage.dut_roles),
        "matrix": [
            {
                "standard": row.standard,
                "interface": row.interface,
                "role": row.role,
                "dut_role": row.dut_role,
                "counts": dict(zip(STATUS_ORDER, row.counts, strict=True)),
                "total": row.total,
            }
            for row in coverage.matrix
        ],
        "requirements": [
            {
                "id": r.id,
                "standard": r.standard,
                "clause": r.clause,
                "text": r.text,
                "interfaces": list(r.interfaces),
                "roles": list(r.roles),
                "verdict": r.verdict,
                "status": r.status,
                "scenarios": [
                    {
                        "id": s.id,
                        "in_run": s.in_run,
                        "via": list(s.via),
                        "verdict": s.verdict,
                        "checks_verdict": s.checks_verdict,
                        "checks": s.checks,
                    }
                    for s in r.scenarios
                ],
            }
            for r in coverage.requirements
        ],
        "unchecked": [r.id for r in coverage.unchecked],
        "not_in_catalogue": {requirement: list(ids) for requirement, ids in coverage.unknown},
    }


def write_coverage(results: Results, run_dir: Path) -> Path:
    path = Path(run_dir) / COVERAGE_FILE
    text = json.dumps(coverage_document(build_coverage(results)), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
