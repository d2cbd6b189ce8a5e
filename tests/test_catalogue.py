"""Every catalogued mistake is real code in tests/mistakes/KATA/ and fails at its named check,
with its name in the message; every correct variant in tests/variants/KATA/ passes."""
from __future__ import annotations

import importlib

import pytest

from grader import registry
from grader.checks.function import FunctionSpec
from tests.conftest import MISTAKES, VARIANTS, check, declared, mistake_model_problems

MISTAKE_FILES = sorted(MISTAKES.glob("*/*.py"))
VARIANT_FILES = sorted(VARIANTS.glob("*/*.py"))


def test_every_catalogued_mistake_has_a_submission():
    have = {(p.parent.name, declared(p, "mistake")) for p in MISTAKE_FILES}
    want = {(k.name, m.name) for k in registry.KATAS.values() for m in k.mistakes}
    assert want - have == set(), "catalogued mistakes without a test submission"
    assert have - want == set(), "test submissions naming no catalogued mistake"


class Cohort:
    """Every file of the catalogue graded as one cohort (grader.core.engine.grade_many), once per
    seed: a workspace per file, one sandbox, cases and reference runs computed once per kata and
    seed (not once per file), children on every core. Each test reads its file's verdict."""

    def __init__(self, files: list, sandbox, folder) -> None:
        self.files, self.sandbox, self.folder = files, sandbox, folder
        self.verdicts: dict[int, dict] = {}

    def verdict(self, path, seed: int = 0):
        if seed not in self.verdicts:
            from grader.core import engine
            from grader.sandbox.pool import Limits

            spaces = []
            for i, f in enumerate(self.files):
                ws = self.folder / f"{seed}" / f"{i}-{f.parent.name}-{f.stem}"
                ws.mkdir(parents=True)
                (ws / f"{f.parent.name}.py").write_text(f.read_text())
                spaces.append(ws)
            names = [n for n in registry.names() if any(f.parent.name == n for f in self.files)]
            options = engine.Options(seed=seed, device="cpu", limits=Limits())
            reports = engine.grade_many(names, spaces, options, sandbox=self.sandbox)
            self.verdicts[seed] = {f: next(k for k in r.katas if k.name == f.parent.name)
                                   for f, r in zip(self.files, reports)}
        return self.verdicts[seed][path]


@pytest.fixture(scope="module")
def mistakes(sandbox, tmp_path_factory):
    return Cohort(MISTAKE_FILES, sandbox, tmp_path_factory.mktemp("mistakes"))


@pytest.fixture(scope="module")
def variants(sandbox, tmp_path_factory):
    return Cohort(VARIANT_FILES, sandbox, tmp_path_factory.mktemp("variants"))


@pytest.mark.parametrize("path", MISTAKE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_mistake_fails_at_its_check_with_its_name(path, mistakes):
    kata = registry.get(path.parent.name)
    name = declared(path, "mistake")
    mistake = next(m for m in kata.mistakes if m.name == name)
    result = mistakes.verdict(path)
    assert result.status == "fail", (result.status, result.message)
    c = check(result, mistake.check)
    assert c.status == "fail", (c.status, c.message)
    assert c.mistake == name
    assert f"known mistake '{name}'" in c.message


@pytest.mark.parametrize("path", VARIANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_variant_passes(path, seed, variants):
    result = variants.verdict(path, seed)
    failed = [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert result.status == "pass", (result.message, failed)


def test_a_file_graded_in_the_cohort_gets_the_verdict_it_gets_alone(mistakes, variants, grade_one):
    """The cohort is the one-workspace grade, many times: same statuses, checks and messages."""
    for cohort, path in ((mistakes, MISTAKE_FILES[0]), (variants, VARIANT_FILES[-1])):
        alone = grade_one(path.parent.name, path.read_text())
        assert cohort.verdict(path).to_dict() | {"seconds": 0} == alone.to_dict() | {"seconds": 0}


FUNCTION_KATAS = [k for k in registry.KATAS.values()
                  if isinstance(importlib.import_module(k.spec).SPEC, FunctionSpec)]


@pytest.mark.parametrize("kata", FUNCTION_KATAS, ids=lambda k: k.name)
def test_every_mistake_model_shows_at_its_check_on_every_seed(kata):
    """Each model differs from the reference at its check and no earlier mistake at that check
    reproduces it, on every seed: so the check fails and the diagnosis names the right mistake."""
    spec = importlib.import_module(kata.spec).SPEC
    reference = getattr(importlib.import_module(kata.solution), spec.function)
    assert mistake_model_problems(spec, reference, kata.mistakes, range(25)) == []
