"""Lab config validation: every shipped lab is valid; every problem is reported with path and line."""

from pathlib import Path

import pytest

from harness.lab.loader import LabConfigError, load_lab
from harness.selection import TagExpressionError, parse_tag_expression
from lab_configs import DEFAULT_LAB, LAB_CONFIGS_DIR


@pytest.mark.parametrize("path", sorted(LAB_CONFIGS_DIR.rglob("*.yaml")), ids=lambda p: p.name)
def test_shipped_labs_are_valid(path):
    loaded = load_lab(path)
    assert len(loaded.sha256) == 64


def test_default_lab_plays_both_sdp_roles():
    config = load_lab(DEFAULT_LAB).config
    assert {"secc", "evcc"} <= set(config.dut.roles)
    assert config.access.kind == "sim"


BAD = """\
name: bench
dut:
  vendor: x
  model: y
  firmware: "1"
  serial: "2"
  roles: [secc, toaster]
  interfaces: [4]
access:
  kind: tcp
  interface: eth0
  colour: red
pics:
  protocols: [sdp]
  protocols: [sdp]
pixit:
  timers:
    NOT_A_TIMER: {value_s: 1, clause: ISO 15118-2 Table 109}
"""


def test_every_problem_with_path_and_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(LabConfigError) as info:
        load_lab(path)
    found = {(p.yaml_path, p.line) for p in info.value.problems}
    assert ("dut.roles", 7) in found
    assert ("access.colour", 12) in found
    assert ("pics.protocols", 15) in found  # duplicate key
    assert ("pixit.timers", 17) in found
    messages = " ".join(p.message for p in info.value.problems)
    assert "toaster" in messages and "unknown key" in messages and "NOT_A_TIMER" in messages


def test_missing_field_points_at_its_parent(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        BAD.replace('  serial: "2"\n', "").replace("toaster", "evcc").replace("  colour: red\n", "")
    )
    with pytest.raises(LabConfigError) as info:
        load_lab(path)
    problem = next(p for p in info.value.problems if p.yaml_path == "dut.serial")
    assert problem.line == 2 and "required" in problem.message.lower()


@pytest.mark.parametrize("text", ["name: [unclosed", "- a list", ""])
def test_not_a_lab_file(tmp_path: Path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(LabConfigError):
        load_lab(path)


def test_unreadable_file(tmp_path: Path):
    with pytest.raises(LabConfigError, match="cannot read"):
        load_lab(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("expression", "tags", "expected"),
    [
        ("slac or pilot", {"pilot"}, True),
        ("slac or pilot", {"sdp"}, False),
        ("interface:4 and not dut:evcc", {"interface:4", "dut:secc"}, True),
        ("@req:SDP-*", {"req:SDP-SECC-01"}, True),
        ("(a or b) and c", {"b"}, False),
    ],
)
def test_tag_expressions(expression, tags, expected):
    assert parse_tag_expression(expression)(frozenset(tags)) is expected


@pytest.mark.parametrize("expression", ["", "a and", "(a", "a b", "or"])
def test_bad_tag_expressions(expression):
    with pytest.raises(TagExpressionError):
        parse_tag_expression(expression)
