"""Shared fixtures: one sandbox for the whole session, and helpers to grade source text."""
from __future__ import annotations

import gc
import signal
from pathlib import Path

import pytest
import torch

from grader import registry
from grader.core import workspace
from grader.core.compare import compare
from grader.checks.function import as_outputs
from grader.core.results import KataResult, Report
from grader.sandbox.pool import Limits, Sandbox

# The suite's tensors are tiny: one thread computes them faster than a pool that has to wake
# (25 times faster on a busy 2-core machine), as the sandbox's children already do.
torch.set_num_threads(1)

TESTS = Path(__file__).resolve().parent
MISTAKES = TESTS / "mistakes"
VARIANTS = TESTS / "variants"


def pytest_configure(config):
    config.addinivalue_line("markers", "own_sandbox: the test starts sandboxes of its own (Sandbox.start is not lent)")
    # A shell starts a background job (`pytest &`, a script's subprocess) with SIGINT ignored,
    # and an ignored signal stays ignored in every process started from it: the tests of what
    # Ctrl-C does would then test nothing and fail. They need the terminal's default.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_finish(session):
    # Every test module, torch and the grader are imported: frozen, they are never walked again
    # by the collections that the sweep's judging triggers (tests/test_diagnosis.py), as in the
    # commands (grader.core.startup).
    gc.freeze()


class _OnFirstUse:
    """The session's sandbox, started when a test first uses it: a run that selects no grading
    test (`-k stub`, the subprocess suites some tests start) never starts a zygote."""

    def __init__(self) -> None:
        self._sandbox: Sandbox | None = None

    def __getattr__(self, name: str):
        if self._sandbox is None:
            self._sandbox = REAL_START.__get__(None, Sandbox)()
        return getattr(self._sandbox, name)

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()


@pytest.fixture(scope="session")
def sandbox():
    sb = _OnFirstUse()
    try:
        yield sb
    finally:
        sb.close()


REAL_START = Sandbox.__dict__["start"]


@pytest.fixture(scope="session", autouse=True)
def lent_to_the_session(sandbox):
    """`Sandbox.start` lends the session's sandbox for the whole run: module- and session-scoped
    fixtures that grade through the CLI (set up before any test's own fixtures) included."""
    from tests.borrowed import lend

    with pytest.MonkeyPatch.context() as mp:
        lend(mp, sandbox)
        yield


@pytest.fixture(autouse=True)
def lent_sandbox(request, monkeypatch):
    """Every command a test runs in this process (the CLI through CliRunner, the notebook API,
    watch, experiments) grades with the session's sandbox: `Sandbox.start` is the factory they
    all call, and it lends the one sandbox, so torch is imported once per suite, not per test.
    Yields a counter of the test's calls. A test marked `own_sandbox` gets real ones; a test
    that patches `Sandbox.start` itself overrides this. Tests that start `python -m grader`
    cover the real start-up path."""
    if request.node.get_closest_marker("own_sandbox"):
        monkeypatch.setattr(Sandbox, "start", REAL_START)
        yield None
        return
    from tests.borrowed import lend

    yield lend(monkeypatch, request.getfixturevalue("sandbox"))


@pytest.fixture
def grade_files(tmp_path, sandbox):
    """grade_files({"dpo": source, ...}, names=None, seed=0, parallel=0, **limits) -> Report, in a fresh
    workspace (tmp_path / "ws"); `parallel`: children at once (0: one per core)."""
    from grader.core import engine

    def run(files: dict[str, str], names: list[str] | None = None, seed: int = 0, device: str = "cpu",
            parallel: int = 0, **limits) -> Report:
        ws = tmp_path / "ws"
        ws.mkdir(exist_ok=True)
        for name, source in files.items():
            (ws / f"{name}.py").write_text(source)
        options = engine.Options(seed=seed, device=device, limits=Limits(**limits), parallel=parallel)
        return engine.grade(names or list(files), ws, options, sandbox=sandbox)

    return run


@pytest.fixture
def grade_one(grade_files):
    """grade_one(kata, source, **kw) -> KataResult."""

    def run(kata: str, source: str, **kw) -> KataResult:
        return grade_files({kata: source}, [kata], **kw).katas[0]

    return run


def unwrapped(text: str) -> str:
    """Output wrapped at 80 columns, where a long temporary path may be broken anywhere (the path
    of pytest's temporary folder has no fixed length): compared without its whitespace."""
    return "".join(text.split())


def check(result: KataResult, name: str):
    matches = [c for c in result.checks if c.name == name]
    assert matches, f"no check named {name!r} in {[c.name for c in result.checks]}"
    return matches[0]


@pytest.fixture(scope="session")
def generated_stubs(tmp_path_factory) -> Path:
    """A workspace of stubs generated from the solutions (`kata init`), in a temporary folder.

    Tests that pin a stub read it here, never in katas/: katas/ is where people practise, and
    solving a kata must not break the project's own tests."""
    ws = tmp_path_factory.mktemp("generated") / "katas"
    workspace.init(ws)
    return ws


def solution_source(kata: str) -> str:
    return workspace.solution_path(registry.get(kata)).read_text()


def declared(path: Path, key: str) -> str:
    """The value of a `# key: value` line at the top of a test submission."""
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no '# {key}:' line")


def mistake_model_problems(spec, reference, mistakes, seeds) -> list[tuple]:
    """For every seed and every variant of every modelled mistake: it must differ from the
    reference on a case of its check (so the check fails), and no earlier mistake at the same
    check may reproduce it (so the diagnosis names it). A mistake of the `gradients` check is
    compared by its gradients (grader.checks.diagnose.model_gradients), every case included."""
    from grader.checks.diagnose import model_gradients
    from grader.checks.probe import run_case

    def outputs(fn, case):
        with torch.no_grad():
            return dict(zip(spec.outputs, as_outputs(spec, spec.call(fn, case))))

    def variants(mistake, case):
        """The model's variants on `case`; none where the model cannot run it (e.g. needs Tc == Tr)."""
        model = spec.models[mistake.name]
        try:
            if mistake.check == "gradients":
                return model_gradients(spec, model, case)
            with torch.no_grad():
                out = spec.call(model, case)
        except RuntimeError:
            return []
        return out if isinstance(out, list) else [out]

    def same(got: dict, want: dict, case) -> bool:
        return all(compare(got[o], t, case.scale).ok for o, t in want.items())

    problems = []
    modelled = [m for m in mistakes if m.name in spec.models]
    for seed in seeds:
        cases = spec.make_cases(seed)
        ref = {"outputs": [outputs(reference, c) for c in cases]}
        if any(m.check == "gradients" for m in modelled):
            ref["gradients"] = [run_case(spec, reference, c)["grads"] for c in cases]
        own = {m.name: [variants(m, c) for c in cases] for m in modelled}
        for m in modelled:
            kind = "gradients" if m.check == "gradients" else "outputs"
            idx = [i for i, c in enumerate(cases) if (kind == "gradients" or c.extreme == (m.check == "stability"))
                   and own[m.name][i]]
            for k in range(max(len(own[m.name][i]) for i in idx)):
                idx_k = [i for i in idx if k < len(own[m.name][i])]
                full = {i: {**ref[kind][i], **own[m.name][i][k]} for i in idx_k}
                if all(same(full[i], ref[kind][i], cases[i]) for i in idx_k):
                    problems.append((seed, m.name, k, "indistinguishable from the reference"))
                for other in modelled[: modelled.index(m)]:
                    if other.check == m.check and any(
                            all(k2 < len(own[other.name][i]) and same(full[i], own[other.name][i][k2], cases[i])
                                for i in idx_k)
                            for k2 in range(max(len(own[other.name][i]) for i in idx_k))):
                        problems.append((seed, m.name, k, f"reproduced by '{other.name}'"))
    return problems
