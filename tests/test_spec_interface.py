"""The spec interface is written down and followed: every registered kata's spec implements
grader.checks.spec.Spec, every check a record lists is implemented, and grader's modules do not
import each other in a circle."""
from __future__ import annotations

import ast
import importlib

import pytest
import torch

from grader import registry
from grader.checks.cases import laid_out
from grader.checks.function import FunctionSpec
from grader.checks.judge import CHECKS
from grader.checks.spec import Spec
from grader.core import workspace


@pytest.mark.parametrize("kata", list(registry.KATAS))
def test_every_spec_implements_the_protocol(kata):
    spec = importlib.import_module(registry.get(kata).spec).SPEC
    assert isinstance(spec, Spec), f"{kata}'s SPEC lacks a method of grader.checks.spec.Spec"


def test_bt_class_checks_share_the_check_signature():
    from grader.catalog.bt.model import MODEL_CHECKS

    listed = set(registry.get("bt").check_names)
    assert set(MODEL_CHECKS) <= listed
    assert listed - set(MODEL_CHECKS) - {"behaviour"} <= set(CHECKS)


def _imports(path) -> set[str]:
    """grader modules imported at module level (not inside functions) by the file at `path`."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("grader"))
    return out


def test_no_import_circles_in_grader():
    root = workspace.PACKAGE_ROOT
    modules = {}
    for path in (root / "grader").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    # A package's __init__ importing its own submodules is not a circle of ours.
    cycles = [c for m in graph if (c := cycle_from(m)) and not any(x.count(".") < m.count(".") and m.startswith(x)
                                                                   for x in c)]
    assert cycles == []



MAX_MODULE_LINES = 350  # the layout's bound: a module a reader takes in at one sitting


def test_no_module_in_grader_is_over_the_layout_bound():
    root = workspace.PACKAGE_ROOT
    long = {str(p.relative_to(root)): n for p in sorted((root / "grader").rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}

@pytest.mark.parametrize("kata", list(registry.KATAS))
def test_non_contiguous_inputs_are_named_in_the_case_and_reach_the_submission_as_such(kata):
    """A case asks for a layout in one way, `Case.layout`: its own tensors are contiguous (every
    kata, seeds 0-2), and each call gets fresh copies laid out as named: a slice keeps its gaps,
    an expanded input its zero strides (a case built to catch `.view(...)` then tests something)."""
    spec = importlib.import_module(registry.get(kata).spec).SPEC
    named = 0
    parts = [spec] if isinstance(spec, FunctionSpec) else list(getattr(spec, "parts", None) or [spec.loss])
    for part in parts:  # the kata's function, each function of a kata of several, bt's loss
        for seed in range(3):
            for case in part.make_cases(seed):
                tensors = {**case.inputs, **{k: v for k, v in case.options.items() if isinstance(v, torch.Tensor)}}
                assert all(t.is_contiguous() for t in tensors.values()), (seed, case.name)
                for name, kind in case.layout.items():
                    passed = laid_out(case, name, tensors[name].clone())
                    if kind in WIDTHS:  # an integer tensor in another width, same values
                        assert passed.dtype == WIDTHS[kind] and torch.equal(passed.long(), tensors[name].long()), \
                            (case.name, name)
                        continue
                    named += 1
                    assert torch.equal(passed, tensors[name]) and not passed.is_contiguous(), (case.name, name)
                    if kind == "expanded":
                        assert 0 in passed.stride(), (case.name, name)
    assert named, f"no case of {kata} passes a non-contiguous input"


WIDTHS = {"int32": torch.int32, "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8}


def test_a_report_with_cuda_runs_is_well_formed_and_judged(tmp_path):
    """On a GPU machine the child reports its CUDA runs keyed by case index: the shape check
    must take them as an honest child writes them (no GPU is needed to build one), and a key
    naming no case is refused."""
    import torch

    from grader.checks.probe import run_case
    from grader.sandbox import plain

    kata = registry.get("dpo")
    spec = importlib.import_module(kata.spec).SPEC
    reference = importlib.import_module(kata.solution)
    cases = spec.make_cases(0)
    report = spec.probe(reference, cases, 0, "off")
    runs = {i: {k: run_case(spec, reference.dpo_loss, c)[k] for k in ("outputs", "grads", "error")}
            for i, c in enumerate(cases) if not c.extreme}
    report["cuda"] = {"device": "a GPU", "runs": runs}
    plain.dump(report, str(tmp_path / "r.bin"))
    read = plain.load_result(str(tmp_path / "r.bin"), 1 << 30, 1 << 24)
    assert spec.malformed(cases, read) == ""
    checks = {c.name: c for c in spec.judge(reference, cases, read, kata)}
    assert checks["cuda_agreement"].status == "pass", checks["cuda_agreement"].message
    read["cuda"]["runs"][len(cases)] = read["cuda"]["runs"][0]
    assert spec.malformed(cases, read) == "the CUDA runs name cases that do not exist"
    assert torch.is_tensor(read["runs"][0]["outputs"][0])
