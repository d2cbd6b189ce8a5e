"""The registry is the only list of katas, and every kata is complete and consistent."""
from __future__ import annotations

import ast
import importlib

import pytest

from grader import registry
from grader.core import workspace

KATAS = list(registry.KATAS.values())


def test_registry_order_and_names():
    assert registry.names() == [k.name for k in KATAS]
    assert len(set(registry.names())) == len(KATAS)


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_kata_record_is_complete(kata):
    assert kata.title and kata.summary and kata.statement and kata.signature
    assert len(kata.hints) >= 3, "hints go from concept to shape to exact formula"
    names = kata.check_names
    assert len(set(names)) == len(names)
    required = {"signature", "values", "inputs_unchanged", "device_hygiene"}
    # A kata whose outputs are targets with no graph (gae) has no gradient to compare: it checks
    # instead that no output carries a graph.
    differentiable = bool(getattr(importlib.import_module(kata.spec).SPEC, "grad_inputs", True))
    required |= {"gradients"} if differentiable else {"rewards_detached"}
    assert required <= set(names)
    for m in kata.mistakes:
        assert m.check in names, f"{m.name!r} names check {m.check!r}, which {kata.name} does not run"
        assert m.advice
    assert len({m.name for m in kata.mistakes}) == len(kata.mistakes)


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_spec_models_name_catalogued_mistakes(kata):
    spec = importlib.import_module(kata.spec).SPEC
    models = getattr(spec, "models", {})
    assert set(models) <= {m.name for m in kata.mistakes}
    assert spec.make_cases(0), "a kata needs cases"


def _signatures(source: str, entry: tuple[str, ...]) -> dict[str, str]:
    """Each entry point's signature and docstring, as text, from a file's AST."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in entry:
            out[node.name] = f"{ast.unparse(node.args)} | {ast.get_docstring(node)}"
        elif isinstance(node, ast.ClassDef) and node.name in entry:
            out[node.name] = f"class | {ast.get_docstring(node)}"
            for m in node.body:
                if isinstance(m, ast.FunctionDef):
                    out[f"{node.name}.{m.name}"] = f"{ast.unparse(m.args)} | {ast.get_docstring(m)}"
    return out


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_stub_mirrors_solution_and_is_a_stub(kata, tmp_path):
    stub = workspace.stub_source(kata)
    solution = workspace.solution_path(kata).read_text()
    assert _signatures(stub, kata.entry) == _signatures(solution, kata.entry)
    assert workspace.STUB_MARKER in stub
    path = tmp_path / kata.filename
    path.write_text(stub)
    assert workspace.is_stub(path, kata)
    path.write_text(solution)
    assert not workspace.is_stub(path, kata)


def committed_text(relative: str) -> str | None:
    """A file's text as committed (git HEAD), never as the working tree has it; None outside a checkout."""
    import subprocess

    try:
        proc = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=workspace.PACKAGE_ROOT, capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_repository_ships_the_generated_stub(kata, tmp_path):
    """The stub committed in katas/ is the generated one. katas/ is where people practise, so the
    working tree is never read: solving a kata there must not break the project's tests. A
    checkout whose katas/ commit holds someone's own work (not a stub) is not the project's."""
    committed = committed_text(f"katas/{kata.filename}")
    if committed is None:
        pytest.skip("not a git checkout with katas/ committed")
    (tmp_path / kata.filename).write_text(committed)
    if not workspace.is_stub(tmp_path / kata.filename, kata):
        pytest.skip(f"katas/{kata.filename} is committed with work in it")
    assert committed == workspace.stub_source(kata), f"katas/{kata.filename} differs from its generated stub: " \
        f"`kata reset {kata.name}` writes it"


def test_unknown_kata_suggests_the_closest():
    with pytest.raises(registry.UnknownKata) as exc:
        registry.get("get_prob")
    assert str(exc.value) == f"unknown kata 'get_prob'. Did you mean 'get_probs'? Known katas: {', '.join(registry.names())}."
