"""The notebook API: grade a function (or class) object, get a result that renders itself.

    from grader import grade
    result = grade("dpo", dpo_loss)            # a function defined in a notebook cell
    result = grade("bt", BTModel, bt_loss)     # a kata with several entry points
    result = grade("dpo")                      # the workspace's katas/dpo.py

The object is not run here. Its source (`inspect.getsource`, which finds notebook cells through
linecache) is written to a kata file (grader.practice.notebook) behind the usual imports and graded by the engine in the
sandboxed child, exactly like `kata grade`. The result is the CLI's `Report`: `to_json()` is
`kata grade --json`'s document; in Jupyter it renders as the terminal report does.

Importing this module does not import torch; the first `grade` call does.
"""
from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path
from typing import Any

from grader import registry
from grader.core import workspace
from grader.core.results import KataResult, Report
from grader.practice.notebook import kata_source


class GradeResult(Report):
    """A `Report` of one kata that also renders itself: `_repr_html_` in Jupyter, `__rich_console__`
    for rich, the plain report for `print`. `.status`, `.checks` and `.ok` are the kata's."""

    @property
    def kata(self) -> KataResult:
        return self.katas[0]

    @property
    def status(self) -> str:
        return self.kata.status

    @property
    def checks(self) -> list[Any]:
        return self.kata.checks

    def _repr_html_(self) -> str:
        from grader import render

        return render.report_html(self)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.text import Text

        from grader import render

        yield Text.from_ansi(render.report_ansi(self, width=options.max_width, color=True))

    def __str__(self) -> str:
        from grader import render

        return render.report_ansi(self, color=False)

    def full(self) -> str:
        """The full plain report, as `kata grade --verbose` prints it: all the output the code
        printed and every frame of a traceback, the grader's and torch's included."""
        from grader import render

        return render.report_ansi(self, color=False, verbose=True)

    def __repr__(self) -> str:
        failed = ", ".join(c.name for c in self.kata.failed_checks)
        return f"<GradeResult {self.kata.name}: {self.status}" + (f" (failed: {failed})" if failed else "") + \
            f", seed {self.seed}>"


def grade(name: str, *objects: Any, seed: int | None = None, path: str | Path | None = None,
          timeout: float = 10.0, device: str = "auto", sandbox: Any = None) -> GradeResult:
    """Grade kata `name` with `objects` (its entry points: functions or classes, or one dict
    {entry name: object}); with no objects, grade the kata's file in workspace `path` (default katas/).

    An object whose name is not an entry point's is bound to the entry points in order, so
    `grade("dpo", my_dpo)` grades `my_dpo` as `dpo_loss`. The seed is random unless given and
    is part of the result, to reproduce it.
    """
    from grader.sandbox.pool import Limits

    kata = registry.get(name)
    seed = seed if seed is not None else int.from_bytes(os.urandom(3), "big")
    sandbox = sandbox or _shared_sandbox()  # started before the engine (and torch) is imported
    from grader.core import engine

    options = engine.Options(seed=seed, device=device, limits=Limits(timeout=timeout))
    if not objects:
        from grader.core.progress import record

        ws = workspace.require_workspace(Path(path) if path is not None else workspace.DEFAULT)
        report = engine.grade([kata.name], ws, options, sandbox=sandbox)
        try:
            record(ws, report)  # the workspace's own file: progress, as `kata grade` records it
        except OSError as exc:  # a read-only workspace, `.kata` a link: graded all the same
            report.warnings.append(f"progress was not recorded in {ws} ({exc.strerror or exc})")
        return _result(report)
    source = kata_source(kata.name, *objects)
    with tempfile.TemporaryDirectory(prefix="kata-notebook-") as tmp:
        (Path(tmp) / kata.filename).write_text(source)
        report = engine.grade([kata.name], Path(tmp), options, sandbox=sandbox)
    report.workspace = "notebook"
    return _result(report)


def _result(report: Report) -> GradeResult:
    return GradeResult(report.katas, report.seed, report.workspace, report.warnings)


# ------------------------------------------------------------------ one sandbox per notebook
_SANDBOX: Any = None


def _shared_sandbox() -> Any:
    """A sandbox kept for the session, so that only the first `grade` pays for torch's import;
    replaced if it has died."""
    global _SANDBOX
    from grader.sandbox.pool import Sandbox

    if _SANDBOX is None or _SANDBOX.proc.poll() is not None:
        if _SANDBOX is None:
            atexit.register(_close_shared)
        _SANDBOX = Sandbox.start()
    return _SANDBOX


def _close_shared() -> None:
    global _SANDBOX
    if _SANDBOX is not None:
        _SANDBOX.close()
        _SANDBOX = None
