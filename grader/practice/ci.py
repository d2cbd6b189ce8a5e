"""Workflows that grade a workspace repository in the CI it already has. No torch.

`kata ci github` writes `.github/workflows/kata.yml`, `kata ci gitlab` writes
`.gitlab-ci.yml`, and `kata ci github --classroom` writes GitHub Classroom's autograding
workflow (`.github/workflows/classroom.yml`, one test per kata with its points). Each job
installs this project at the version that wrote it (CPU torch: the default wheel pulls
several GB of CUDA packages), grades the workspace with a fixed command, and publishes:

- the JSON report (`kata grade --json`), the input of `kata report --from-json`;
- JUnit XML, which GitLab shows as a test report;
- a Markdown summary, which GitHub shows on the run's page (the job summary).

Two modes: `gate` fails the job until every counted kata passes; `progress` always succeeds
while grading itself worked, so a red job means the grader could not run (exit code 2 or
more), never that katas are still open.

The files are generated as text, with every value the user chose passed through `_quote`,
so a kata name or a path can never break the YAML. An existing file is saved to a
timestamped backup before it is replaced, as `kata reset` does.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.core.files import atomic_write, backup

MODES = ("gate", "progress")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
RESULTS = "kata-results.json"  # `kata report --from-json` reads these
JUNIT = "kata-junit.xml"
SUMMARY = "kata-summary.md"
PYTHON = "3.11"
SHOW_SUMMARY = f'if [ -f {SUMMARY} ]; then cat {SUMMARY} >> "$GITHUB_STEP_SUMMARY"; fi'
TARGETS = {
    "github": Path(".github/workflows/kata.yml"),
    "gitlab": Path(".gitlab-ci.yml"),
    "classroom": Path(".github/workflows/classroom.yml"),
}


@dataclass(frozen=True)
class Setup:
    """What a generated workflow grades, and how."""

    katas: tuple[str, ...] = ()  # the katas that count; () for all
    path: str = "katas"  # the workspace, relative to the repository's root
    mode: str = "gate"
    seed: int | None = None  # a fixed seed, so that everyone's results compare; None: the grader picks one
    install: str = field(default_factory=lambda: f"dpo-kata=={__version__}")
    points: int = 10  # per kata, for GitHub Classroom
    timeout: int = 10  # minutes per Classroom test

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode '{self.mode}': one of {', '.join(MODES)}")


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _shell(text: str) -> str:
    """One shell word, single-quoted unless it is plainly safe."""
    return text if re.fullmatch(r"[A-Za-z0-9_./=:@+-]+", text) else "'" + text.replace("'", "'\"'\"'") + "'"


def grade_command(setup: Setup, names: tuple[str, ...] | None = None, outputs: bool = True) -> str:
    """The `kata grade` call a job runs (names: override the setup's katas)."""
    words = ["kata", "grade", *(names if names is not None else setup.katas), "--path", setup.path]
    if setup.seed is not None:
        words += ["--seed", str(setup.seed)]
    if outputs:
        words += ["--json", "--junit", JUNIT, "--summary", SUMMARY]
    line = " ".join(_shell(w) for w in words)
    return f"{line} > {RESULTS}" if outputs else line


def _graded(setup: Setup) -> str:
    """The grading line, with the mode's exit-code rule: exit 1 (katas not passing) is a
    failure only in gate mode; 2 or more (usage error, grader fault) always is."""
    line = grade_command(setup)
    return line if setup.mode == "gate" else f"{line} || test $? -eq 1"


def _install_lines() -> list[str]:
    return ["python -m pip install --upgrade pip",
            f"python -m pip install torch --index-url {TORCH_CPU_INDEX}"]


def _header(command: str, setup: Setup) -> list[str]:
    counted = ", ".join(setup.katas) if setup.katas else "every kata"
    return [f"# Written by `{command}` (dpo-kata {__version__}): grades {setup.path}/ ({counted}),",
            f"# mode {setup.mode}. Re-run the command to regenerate; edits here are kept only in backups."]


def github_workflow(setup: Setup) -> str:
    install = _install_lines() + [f"python -m pip install {_shell(setup.install)}"]
    lines = _header("kata ci github", setup) + [
        "name: kata",
        "on:",
        "  push:",
        "  pull_request:",
        "  workflow_dispatch:",
        "permissions:",
        "  contents: read",
        "jobs:",
        "  grade:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 30",
        "    steps:",
        "      - uses: actions/checkout@v5",
        "      - uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: {_quote(PYTHON)}",
        "      - name: Install the grader (CPU torch)",
        "        run: |",
        *(f"          {x}" for x in install),
        "      - name: Grade the katas",
        f"        run: {_quote(_graded(setup))}",
        "      - name: Show the results on the run's page",
        "        if: always()",
        f"        run: {_quote(SHOW_SUMMARY)}",
        "      - name: Keep the results (JSON for kata report --from-json, JUnit, summary)",
        "        if: always()",
        "        uses: actions/upload-artifact@v6",
        "        with:",
        "          name: kata-results",
        "          if-no-files-found: warn",
        "          path: |",
        f"            {RESULTS}",
        f"            {JUNIT}",
        f"            {SUMMARY}",
    ]
    return "\n".join(lines) + "\n"


def gitlab_ci(setup: Setup) -> str:
    script = _install_lines() + [f"python -m pip install {_shell(setup.install)}", _graded(setup)]
    lines = _header("kata ci gitlab", setup) + [
        "kata:",
        f"  image: {_quote(f'python:{PYTHON}-slim')}",
        "  stage: test",
        "  timeout: 30 minutes",
        "  script:",
        *(f"    - {_quote(x)}" for x in script),
        "  artifacts:",
        "    when: always",
        "    expire_in: 30 days",
        "    paths:",
        f"      - {RESULTS}",
        f"      - {JUNIT}",
        f"      - {SUMMARY}",
        "    reports:",
        f"      junit: {JUNIT}",
    ]
    return "\n".join(lines) + "\n"


def _step_id(name: str) -> str:
    return "kata-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def classroom_workflow(setup: Setup, all_katas: list[str]) -> str:
    """GitHub Classroom's autograding: one command-grader test per kata, then its reporter."""
    names = list(setup.katas) or all_katas
    install = " && ".join(_install_lines() + [f"python -m pip install {_shell(setup.install)}"])
    lines = _header("kata ci github --classroom", setup) + [
        "name: Autograding Tests",
        "on:",
        "  push:",
        "  repository_dispatch:",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v5",
        "      - uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: {_quote(PYTHON)}",
    ]
    for i, name in enumerate(names):
        lines += [
            f"      - name: {_quote(name)}",
            f"        id: {_step_id(name)}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {_quote(name)}",
            f"          setup-command: {_quote(install if i == 0 else '')}",  # installed once, for every test
            f"          command: {_quote(grade_command(setup, (name,), outputs=False))}",
            f"          timeout: {setup.timeout}",
            f"          max-score: {setup.points}",
        ]
    ids = [_step_id(n) for n in names]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(f"          {i.upper()}_RESULTS: \"${{{{steps.{i}.outputs.result}}}}\"" for i in ids),
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Written:
    path: Path
    backup: Path | None  # where the file that was there before went


def write(repo: Path, kind: str, setup: Setup, all_katas: list[str]) -> Written:
    """Write the `kind` workflow into repository `repo`; an existing file is backed up first."""
    text = {"github": lambda: github_workflow(setup), "gitlab": lambda: gitlab_ci(setup),
            "classroom": lambda: classroom_workflow(setup, all_katas)}[kind]()
    target = Path(repo) / TARGETS[kind]
    saved = None
    if target.exists() or target.is_symlink():
        if not target.is_file():
            raise OSError(f"'{target}' exists and is not a regular file; move it away first")
        if target.read_text(errors="replace") == text:
            return Written(target, None)  # already up to date: no backup of an identical file
        saved = backup(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text)
    return Written(target, saved)
