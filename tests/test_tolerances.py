"""One place for numbers: behaviour checks compare against grader/core/tolerances.py, never
against a literal written where the check is."""
from __future__ import annotations

import ast
from pathlib import Path

from grader.core import tolerances

CATALOG = Path(__file__).resolve().parent.parent / "grader" / "catalog"


def _literals_compared(fn: ast.FunctionDef) -> list[tuple[int, object]]:
    """Number literals inside comparisons, other than 0, 1 and indices (x[0], x[-1], runs[1.0])."""
    inside_index = {id(n) for sub in ast.walk(fn) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
    found = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Compare):
            for n in ast.walk(node):
                if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool) \
                        and id(n) not in inside_index and n.value not in (0, 1):
                    found.append((n.lineno, n.value))
    return found


def test_behaviour_judges_take_their_thresholds_from_tolerances():
    judges = 0
    offending = {}
    for spec in sorted(CATALOG.glob("*/*.py")):  # spec.py, or a kata's own behaviour module
        tree = ast.parse(spec.read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and "Behaviour" in n.name):
            for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "judge"):
                judges += 1
                if _literals_compared(fn):
                    offending[f"{spec.parent.name}.{cls.name}"] = _literals_compared(fn)
    assert judges >= 5
    assert offending == {}, f"thresholds written in the judge instead of grader/core/tolerances.py: {offending}"


def test_every_threshold_is_a_positive_number():
    names = [n for n in vars(tolerances) if n.isupper() and isinstance(getattr(tolerances, n), float)]
    assert len(names) >= 15
    assert all(getattr(tolerances, n) > 0 for n in names)
