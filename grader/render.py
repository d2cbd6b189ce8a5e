"""All terminal output. rich when it helps; no colour when NO_COLOR is set or stdout is not
a terminal (rich's own rule). Every function takes result objects and prints them; none
computes anything a check decides. No torch.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.core.kata import Kata
from grader.practice.cohort import Cohort
from grader.core.results import KataResult, Report

if TYPE_CHECKING:
    from grader.practice.experiment import ExperimentResult

STATUS_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold red", "timeout": "bold yellow",
                "not_started": "dim", "skip": "dim", "grader_error": "bold magenta"}
STATUS_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "not_started": "NOT STARTED",
                "skip": "skip", "grader_error": "GRADER ERROR"}
SPARKS = "▁▂▃▄▅▆▇█"


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def sparkline(values: Iterable[float], lo: float | None = None, hi: float | None = None) -> str:
    """One character per value, ▁ at `lo` (default: the smallest) to █ at `hi` (the largest).

    Values outside [lo, hi] are clipped; NaN and ±inf are drawn as '×' so that a broken run
    is visible rather than a crash of the renderer.
    """
    xs = [float(v) for v in values]
    ok = [x for x in xs if math.isfinite(x)]
    if not ok:
        return "×" * len(xs)
    lo = min(ok) if lo is None else lo
    hi = max(ok) if hi is None else hi
    span = (hi - lo) or 1.0
    top = len(SPARKS) - 1
    return "".join(SPARKS[max(0, min(top, int((x - lo) / span * top + 0.5)))] if math.isfinite(x) else "×"
                   for x in xs)


def _label(status: str) -> Text:
    return Text(STATUS_LABEL.get(status, status), style=STATUS_STYLE.get(status, ""))


# ------------------------------------------------------------------ grading
def kata_result(con: Console, r: KataResult, path: str = "") -> None:
    head = Text.assemble(Text(r.name, style="bold"), "  ", _label(r.status),
                         Text(f"  {path}  {r.seconds:.2f} s" if path else f"  {r.seconds:.2f} s", style="dim"))
    if r.hints_used:
        head.append(f"  hints used: {r.hints_used}", style="dim")
    con.print(head)
    if r.message:
        con.print(Text("  " + r.message))
    if r.checks:
        table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False, expand=False)
        table.add_column(width=2)
        table.add_column(no_wrap=True)
        table.add_column(width=6)
        table.add_column(overflow="fold")
        for c in r.checks:
            mark = {"pass": "✓", "fail": "✗", "error": "!", "skip": "·"}[c.status]
            style = "yellow" if c.advisory and c.status == "fail" else STATUS_STYLE.get(c.status, "")
            label = "advice" if c.advisory and c.status == "fail" else STATUS_LABEL[c.status]
            table.add_row(Text(mark, style=style), c.name, Text(label, style=style), Text(c.message))
        con.print(table)
        for c in r.checks:
            series = {k: v for k, v in c.details.items() if _is_series(v)}
            series.update(_schema_series(c.details))
            if series:
                con.print(Text(f"  curves ({c.name}), over training:", style="dim"))
                curves(con, series)
    if r.output and r.status != "pass":
        con.print(Text("  output of the submission:", style="dim"))
        con.print(Text("\n".join("    " + line for line in r.output.splitlines()[-12:]), style="dim"))
    con.print()


def report(con: Console, rep: Report, paths: dict[str, str] | None = None) -> None:
    paths = paths or {}
    for r in rep.katas:
        kata_result(con, r, paths.get(r.name, ""))
    for w in rep.warnings:
        con.print(Text("warning: " + w, style="bold yellow"))
    summary(con, rep)


def summary(con: Console, rep: Report) -> None:
    style = "bold green" if rep.ok else "bold"
    con.print(Text.assemble(Text(f"{rep.passed} / {rep.total} katas pass", style=style),
                            Text(f"  ·  seed {rep.seed} (reproduce with --seed {rep.seed})", style="dim")))


def progress_line(con: Console, done: int, total: int) -> None:
    width = 20
    filled = round(width * done / total) if total else 0
    con.print(Text.assemble("progress ", Text("█" * filled, style="green"), Text("░" * (width - filled), style="dim"),
                            f" {done} / {total} katas solved"))


# ------------------------------------------------------------------ cohorts
def cohort(con: Console, co: Cohort) -> None:
    """A person x kata table of statuses, each person's passed / total, then a summary line."""
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    table.add_column("person", style="bold", no_wrap=True)
    for name in co.kata_names:
        table.add_column(name, no_wrap=True)
    table.add_column("passed", justify="right", no_wrap=True)
    for m in co.members:
        status = {r.name: r.status for r in m.report.katas}
        passed = Text(f"{m.report.passed}/{m.report.total}", style="bold green" if m.report.ok else "")
        table.add_row(m.person, *[_label(status[name]) if name in status else "" for name in co.kata_names], passed)
    con.print(table)
    for m in co.members:
        for w in m.report.warnings:
            con.print(Text(f"warning ({m.person}): {w}", style="bold yellow"))
    con.print()
    style = "bold green" if co.ok else "bold"
    con.print(Text.assemble(Text(f"{co.passed} / {co.total} people pass every kata", style=style),
                            Text(f"  ·  seed {co.seed} (reproduce with --seed {co.seed})", style="dim")))


# ------------------------------------------------------------------ catalogue
def kata_list(con: Console, rows: list[tuple[Kata, str, str]]) -> None:
    """rows: (kata, status word, extra such as hints used), grouped by the curriculum's tracks."""
    from grader.registry import TRACKS

    for n, track in enumerate(t for t in TRACKS if any(k.track == t for k, _, _ in rows)):
        if n:
            con.print()
        con.print(Text(f"{track}: {TRACKS[track]}", style="bold"))
        table = Table(box=None, padding=(0, 2), pad_edge=False)
        table.add_column("kata", style="bold", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("hints", no_wrap=True)
        table.add_column("what it is")
        for kata, status, hints in rows:
            if kata.track != track:
                continue
            style = {"pass": "green", "fail": "red", "error": "red", "timeout": "yellow"}.get(status.split()[0], "dim")
            table.add_row(kata.name, Text(status, style=style), hints, kata.summary)
        con.print(table)


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of each prose paragraph so the terminal wraps it at its own
    width. Indented lines (formulas, code) and list items keep their line breaks."""
    out = []
    for block in text.split("\n\n"):
        joined: list[str] = []
        for line in block.split("\n"):
            item = line.startswith("- ")
            continues_item = joined and joined[-1].startswith("- ") and line.startswith("  ") and line.strip()
            continues_prose = joined and not item and line and not line[0].isspace() and not joined[-1][:1].isspace()
            if continues_item or continues_prose:
                joined[-1] += " " + line.strip()
            else:
                joined.append(line)
        out.append("\n".join(joined))
    return "\n\n".join(out)


def kata_show(con: Console, kata: Kata) -> None:
    con.print(Text(f"{kata.name}: {kata.title}", style="bold"))
    con.print()
    con.print(Text(reflow(kata.statement)))
    con.print()
    con.print(Text("Signature", style="bold"))
    con.print(Text(kata.signature, style="cyan"))
    con.print()
    con.print(Text("What the grader checks", style="bold"))
    for c in kata.checks:
        con.print(Text.assemble("  ", Text(c.name, style="bold"), f": {c.what}"))
    con.print()
    con.print(Text(f"It recognises {len(kata.mistakes)} common mistakes by name. "
                   f"Hints: `kata hint {kata.name}`.", style="dim"))


def kata_hints(con: Console, kata: Kata, shown: int, revealed_now: bool) -> None:
    labels = ("concept", "shape of the computation", "exact formula")
    for i in range(shown):
        label = labels[i] if i < len(labels) else f"level {i + 1}"
        con.print(Text.assemble(Text(f"Hint {i + 1}/{len(kata.hints)} ({label}): ", style="bold"), kata.hints[i]))
    if shown < len(kata.hints):
        con.print(Text(f"Run `kata hint {kata.name}` again for the next level, or add --all.", style="dim"))
    elif not revealed_now:
        con.print(Text("All hints are shown.", style="dim"))


def error(con: Console, message: str) -> None:
    con.print(Text.assemble(Text("error: ", style="bold red"), message))


def notice(con: Console, message: str) -> None:
    con.print(Text(message, style="yellow"))


# ------------------------------------------------------------------ curves
CURVE_WORDS = (("logp_rejected", "log π(y_l)"), ("logp_chosen", "log π(y_w)"), ("pi_rejected", "π(y_l)"),
               ("pi_chosen", "π(y_w)"), ("h_mean", "h"), ("_beta_", " β="))


def _schema_series(details: dict[str, Any]) -> dict[str, list[float]]:
    """The curves of a `details` built with grader/checks/details.py, titled from name and param."""
    out = {}
    for s in details.get("series") if isinstance(details.get("series"), list) else ():
        if isinstance(s, dict) and _is_series(s.get("values")):
            param = s.get("param") if isinstance(s.get("param"), dict) else {}
            words = " ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in param.items())
            out[f"{s.get('name', '')} {words}".strip()] = s["values"]
    return out


def _is_series(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 2 and all(isinstance(v, (int, float)) for v in value)


def curve_label(key: str) -> str:
    """A details key as a person reads it: 'pi_rejected_beta_0.1' -> 'π(y_l) β=0.1'."""
    for word, shown in CURVE_WORDS:
        key = key.replace(word, shown)
    return key


def _resample(xs: list[float], width: int) -> list[float]:
    """At most `width` evenly spaced values, always keeping the first and the last."""
    if len(xs) <= width or width < 2:
        return xs
    return [xs[round(i * (len(xs) - 1) / (width - 1))] for i in range(width)]


def _num(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def curves(con: Console, series: dict[str, list[float]], shared: bool = False, indent: int = 4,
           log: bool | None = None) -> None:
    """One sparkline per series, its first value on the left and its last on the right.

    A probability (values in (0, 1]) spanning more than a factor of 3 is drawn on a log
    scale, marked "(log)": falling towards 0, its last nine tenths look flat on a linear
    scale, and "still falling" versus "has stopped" is the point of the curve. `shared`
    draws every series on one scale, so that runs can be compared by height; `log` forces
    the scale (True: log where positive, False: linear) instead of choosing it per series.
    """
    rows = []
    for key, xs in series.items():
        xs = [float(x) for x in xs]
        finite = [x for x in xs if math.isfinite(x)]
        probability = bool(finite) and 0 < min(finite) and max(finite) <= 1
        use_log = bool(finite) and min(finite) > 0 and \
            (probability and max(finite) / min(finite) > 3 if log is None else log)
        rows.append((curve_label(key) + (" (log)" if use_log else ""), xs,
                     [math.log10(x) if use_log and x > 0 else x for x in xs]))
    lo = hi = None
    if shared:
        drawn = [y for _, _, ys in rows for y in ys if math.isfinite(y)]
        lo, hi = (min(drawn), max(drawn)) if drawn else (None, None)
    label_width = max(len(label) for label, _, _ in rows)
    width = max(10, min(60, con.width - indent - label_width - 2 * 9 - 4))
    table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False, expand=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    for label, xs, ys in rows:
        table.add_row(" " * (indent - 1) + label, _num(xs[0]), Text(sparkline(_resample(ys, width), lo, hi), style="cyan"),
                      _num(xs[-1]))
    con.print(table)


# ------------------------------------------------------------------ experiments
def experiment(con: Console, res: "ExperimentResult") -> None:
    """The runs as a table, their curves on shared scales, then what the seeds say they show.
    Columns, labels and curves are the experiment record's (grader/practice/experiments/)."""
    exp = res.experiment
    settings = dict.fromkeys(k for arm in exp.arms for k in arm.settings)  # "lr DPO 2, IPO 0.1"
    said = "".join(f", {k} " + ", ".join(f"{a.label} {a.settings[k]:g}" for a in exp.arms if k in a.settings)
                   for k in settings)
    con.print(Text.assemble(Text(exp.title, style="bold"),
                            Text(f"  ·  {res.source}  ·  {res.steps} steps, seed {res.seed}{said}", style="dim")))
    for p in res.problems:
        error(con, p)
    if res.runs:
        table = Table(box=None, padding=(0, 2), pad_edge=False)
        for n, col in enumerate(exp.columns):
            table.add_column(col.title, justify="left" if n == 0 else "right", no_wrap=True)
        keys = sum(1 for col in exp.columns if col.key)
        for r in res.runs:
            if r.error:  # the run's identity, then its error
                rest = [""] * max(0, len(exp.columns) - keys - 1)
                table.add_row(*[col.cell(r) for col in exp.columns[:keys]], Text(r.error, style="red"), *rest)
            else:
                table.add_row(*[col.cell(r) for col in exp.columns])
        con.print(table)
        trained = [r for r in res.runs if r.trained]
        for n, curve in enumerate(exp.curves if trained else ()):
            if n == 0:
                con.print()
            con.print(Text(f"{curve.title}, one scale for all runs:", style="dim"))
            curves(con, {exp.label(r): curve.values(r) for r in trained}, shared=True, log=curve.log, indent=2)
    for f in res.findings:
        con.print(Text.assemble(Text("✓ " if f.holds else "✗ ", style="green" if f.holds else "red"), f.text))
    for w in res.warnings:
        con.print(Text("warning: " + w, style="bold yellow"))


def experiment_png(con: Console, path: str) -> None:
    con.print(Text(f"Wrote {path}", style="dim"))


# ------------------------------------------------------------------ practice loop
def watch_start(con: Console, ws: str, first: str, seed: int) -> None:
    con.print(Text.assemble(Text(f"Watching {ws}", style="bold"),
                            Text(f" · starting with {first} · seed {seed} · save a kata file to grade it · "
                                 "Ctrl-C to stop", style="dim")))


def watch_step(con: Console, step: Any, paths: dict[str, str] | None = None) -> None:
    """One `grader.practice.watch.Step`: a report, the move to the next kata, or the end of the katas."""
    if step.kind == "grading":
        con.print(Text(f"grading {step.kata} …", style="dim"))
    elif step.kind == "graded":
        con.rule(Text(step.kata, style="bold"), align="left", style="dim")
        for r in step.report.katas:  # no "n / m katas pass" line: one kata at a time here
            kata_result(con, r, (paths or {}).get(r.name, ""))
        for w in step.report.warnings:
            con.print(Text("warning: " + w, style="bold yellow"))
    elif step.kind == "next":
        con.print(Text.assemble(Text("→ next kata: ", style="bold green"), Text(step.kata, style="bold"),
                                f" (`kata show {step.kata}` states it; save {(paths or {}).get(step.kata, step.kata + '.py')} "
                                "to grade it)"))
    elif step.kind == "done":
        con.print(Text("Every kata passes. Still watching: save a file to grade it again, Ctrl-C to stop.",
                       style="bold green"))


def watch_goodbye(con: Console, done: int, total: int) -> None:
    con.print()
    con.print(Text(f"Stopped watching. {done} / {total} katas solved.", style="dim"))


# ------------------------------------------------------------------ reference solutions
def solution(con: Console, kata: Kata, source: str, path: str) -> None:
    """The reference with syntax highlighting; lines are never cropped, so it can be copied."""
    from rich.syntax import Syntax

    con.print(Text.assemble(Text(f"{kata.name}: reference solution", style="bold"), Text(f"  {path}", style="dim")))
    width = max((len(line) for line in source.splitlines()), default=1)
    con.print(Syntax(source.rstrip("\n"), "python", line_numbers=con.is_terminal, code_width=width,
                     word_wrap=False, background_color="default"), crop=False)


def solution_locked(con: Console, kata: Kata, ws: str) -> None:
    error(con, f"the reference for {kata.name} unlocks once your {kata.name} passes: "
               f"`kata grade {kata.name} --path {ws}`. Stuck? `kata hint {kata.name}` reveals the next hint; "
               f"`kata solution {kata.name} --force` shows it anyway.")


# ------------------------------------------------------------------ notebooks
def report_ansi(rep: Report, width: int = 100, color: bool = True) -> str:
    """The terminal report as a string (ANSI-styled when `color`)."""
    import io

    con = Console(file=io.StringIO(), width=width, force_terminal=color, color_system="truecolor" if color else None,
                  highlight=False, soft_wrap=False, force_jupyter=False)
    report(con, rep)
    return con.file.getvalue()  # type: ignore[attr-defined]


def report_html(rep: Report, width: int = 100) -> str:
    """The terminal report as HTML with inline styles, for Jupyter's `_repr_html_`."""
    import io

    con = Console(file=io.StringIO(), record=True, width=width, force_terminal=True, color_system="truecolor",
                  highlight=False, soft_wrap=False, force_jupyter=False)
    report(con, rep)
    return con.export_html(inline_styles=True, code_format=(
        '<pre style="font-family: Menlo, \'DejaVu Sans Mono\', consolas, monospace; font-size: 12px; '
        'line-height: 1.3">{code}</pre>'))
