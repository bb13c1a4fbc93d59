"""What the shipped feature files contain, read without running anything (for `vgi list` and tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from features import FEATURES_DIR
from harness.selection import tag_values

_META_PREFIXES = ("id:", "interface:", "dut:", "req:")


@dataclass(frozen=True, slots=True)
class ScenarioEntry:
    feature: str
    feature_name: str
    id: str
    name: str
    tags: tuple[str, ...]
    examples: int  # rows of a Scenario Outline, 0 for a plain Scenario

    @property
    def interfaces(self) -> list[int]:
        return sorted(int(v) for v in tag_values(self.tags, "interface"))

    @property
    def roles(self) -> list[str]:
        return tag_values(self.tags, "dut")

    @property
    def requirements(self) -> list[str]:
        return tag_values(self.tags, "req")

    @property
    def other_tags(self) -> list[str]:
        return [t for t in self.tags if not t.startswith(_META_PREFIXES)]


def load_inventory(features_dir: Path = FEATURES_DIR) -> list[ScenarioEntry]:
    from pytest_bdd.parser import FeatureParser

    out = []
    for path in sorted(features_dir.rglob("*.feature")):
        rel = path.relative_to(features_dir).as_posix()
        feature = FeatureParser(str(features_dir), rel).parse()
        for scenario in feature.scenarios.values():
            tags = tuple(sorted(scenario.tags | feature.tags))
            ids = tag_values(tags, "id")
            rows = sum(len(e.examples) for e in scenario.examples) if scenario.examples else 0
            out.append(ScenarioEntry(rel, feature.name, ids[0] if ids else "", scenario.name, tags, rows))
    return out


def count_runs(
    entries: list[ScenarioEntry], interfaces: set[int], predicate: Callable[[frozenset[str]], bool] | None
) -> int:
    """How many scenario runs (an outline's rows each count) a selection by interface and tag
    expression has: what `vgi run` uses to start no more parallel benches than there are runs."""
    return sum(
        max(1, e.examples)
        for e in entries
        if interfaces & set(e.interfaces) and (predicate is None or predicate(frozenset(e.tags)))
    )
