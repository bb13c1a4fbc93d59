"""Steps stay thin: small modules, no reach into tester internals, no free-form scenario state, no bare
numbers as bench timeouts (issue 9: numbers are named timers or constants citing their clause)."""

import ast
import re
from pathlib import Path

import pytest

import steps

STEPS_DIR = Path(steps.__file__).resolve().parent
MODULES = sorted(p for p in STEPS_DIR.glob("*.py") if p.name != "__init__.py")
MAX_LINES = 400


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_step_module_is_thin(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name} has more than {MAX_LINES} lines: split it"
    assert ".core." not in text and ".stations[" not in text, f"{path.name} reaches into a tester's internals"
    assert "run.values" not in text and "scenario.values" not in text, f"{path.name} uses the values dict"
    bare = re.findall(r"bench\.run\([^\n]*,\s*\d+(\.\d+)?\)", text)
    assert not bare, f"{path.name} passes a bare number as a bench timeout"


def _step_functions(tree: ast.Module) -> set[str]:
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                call = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(call, ast.Name) and call.id in ("given", "when", "then"):
                    out.add(node.name)
    return out


def test_steps_do_not_call_steps():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in MODULES}
    step_names = set().union(*(_step_functions(t) for t in trees.values()))
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("steps"):
                imported = {alias.name for alias in node.names}
                assert not imported & step_names, f"{path.name} imports step(s) {imported & step_names}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("steps.") for a in node.names), (
                    f"{path.name} imports a step module"
                )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in step_names, (
                    f"{path.name} calls step {node.func.id}: use a plain function"
                )
