"""Practising never breaks the project's own tests: in a copy of the repository whose katas/
holds every reference solution (as someone who solved them all), the suite's stub tests pass."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader import registry
from grader.core import workspace

ROOT = workspace.PACKAGE_ROOT
STUB_TESTS = "stub and (test_reference or test_registry or test_completeness or test_multi)"  # every test that pins a stub


def _copy(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".pytest_cache", ".benchmarks")
    for name in ("grader", "solutions", "katas", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env, timeout=60)


def test_stub_tests_pass_in_a_repository_whose_katas_are_all_solved(tmp_path):
    repo = _copy(tmp_path / "repo")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "as shipped")  # the stubs committed, as in the project
    for kata in registry.KATAS.values():  # then solved in the working tree, never committed
        shutil.copy2(workspace.solution_path(kata), repo / "katas" / kata.filename)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", STUB_TESTS, "tests"],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    # the copy's own grader ran (not this checkout's), and the stub tests did run there
    assert "passed" in proc.stdout and "failed" not in proc.stdout, tail
    ran = int(proc.stdout.strip().splitlines()[-1].split(" passed")[0].split()[-1])
    assert ran >= len(registry.KATAS) + 5, tail
