"""Load a lab config file and report every problem with its YAML path and line number."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.lab.config import LabConfig

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    yaml_path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "?"
        return f"{where}: {self.yaml_path or '(top level)'}: {self.message}"


class LabConfigError(Exception):
    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True, slots=True)
class LoadedLab:
    config: LabConfig
    path: Path
    sha256: str


def _format_path(loc: Location) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _node_lines(
    node: yaml.Node, prefix: Location, lines: dict[Location, int], problems: list[Problem]
) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value
            loc = (*prefix, name)
            if name in seen:
                problems.append(Problem(_format_path(loc), key.start_mark.line + 1, "duplicate key"))
            seen.add(name)
            lines[loc] = key.start_mark.line + 1
            _node_lines(value, loc, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*prefix, index), lines, problems)


def _line_for(loc: Location, lines: dict[Location, int]) -> tuple[Location, int | None]:
    """The deepest part of ``loc`` present in the file; pydantic inserts union tags (e.g. 'sim')
    into locations, which the file does not have, so those are skipped."""
    matched: Location = ()
    for part in loc:
        candidate = (*matched, part)
        if candidate in lines:
            matched = candidate
        elif isinstance(part, str) and part in {"sim", "tcp", "plc", "process", "manual"}:
            continue
        else:
            return (*matched, part), lines.get(matched)
    return matched, lines.get(matched)


def load_lab(path: Path) -> LoadedLab:
    """Parse and validate; raises LabConfigError listing every problem found."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LabConfigError(path, [Problem("", None, f"cannot read: {exc.strerror}")]) from None
    text = raw.decode("utf-8", errors="replace")
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise LabConfigError(
            path, [Problem("", line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(data, dict) or root is None:
        raise LabConfigError(
            path, [Problem("", 1, "the file must hold a mapping (name, dut, access, pics, ...)")]
        )
    lines: dict[Location, int] = {}
    problems: list[Problem] = []
    _node_lines(root, (), lines, problems)
    try:
        config = LabConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc, line = _line_for(tuple(error["loc"]), lines)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(Problem(_format_path(loc), line, message))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.yaml_path))
        raise LabConfigError(path, problems)
    return LoadedLab(config, path.resolve(), hashlib.sha256(raw).hexdigest())
