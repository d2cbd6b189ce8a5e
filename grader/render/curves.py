"""Curves as sparklines, and the experiments' screen. No torch."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.render.base import error, sanitize

if TYPE_CHECKING:
    from grader.practice.experiment import ExperimentResult

SPARKS = "▁▂▃▄▅▆▇█"


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


# ------------------------------------------------------------------ curves
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
    for label, xs in series.items():
        xs = [float(x) for x in xs]
        finite = [x for x in xs if math.isfinite(x)]
        probability = bool(finite) and 0 < min(finite) and max(finite) <= 1
        use_log = bool(finite) and min(finite) > 0 and \
            (probability and max(finite) / min(finite) > 3 if log is None else log)
        rows.append((label + (" (log)" if use_log else ""), xs,
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
    from grader.practice.experiment import settings_said

    exp = res.experiment
    con.print(Text.assemble(Text(exp.title, style="bold"), Text(
        f"  ·  {sanitize(res.source, one_line=True)}  ·  {res.steps} steps, seed {res.seed}{settings_said(exp)}", style="dim")))
    for p in res.problems:
        error(con, p)
    if res.runs:
        table = Table(box=None, padding=(0, 1), pad_edge=False)
        for n, col in enumerate(exp.columns):
            table.add_column(col.title, justify="left" if n == 0 else "right", no_wrap=True)
        keys = sum(1 for col in exp.columns if col.key)
        for r in res.runs:
            if r.error:  # the run's identity, then "error"; the message goes under the table: a cell would cut it
                rest = [""] * max(0, len(exp.columns) - keys - 1)
                table.add_row(*[col.cell(r) for col in exp.columns[:keys]], Text("error", style="red"), *rest)
            else:
                table.add_row(*[col.cell(r) for col in exp.columns])
        con.print(table)
        for r in res.runs:
            if r.error:
                error(con, f"{exp.label(r)}: {r.error}")
        trained = [r for r in res.runs if r.trained]
        drawn = [(c, [r for r in trained if c.shows(r)]) for c in exp.curves]
        for n, (curve, shown) in enumerate((c, shown) for c, shown in drawn if shown):
            if n == 0:
                con.print()
            con.print(Text(f"{curve.title}, one scale for all runs:", style="dim"))
            curves(con, {exp.label(r): curve.values(r) for r in shown}, shared=True, log=curve.log, indent=2)
    for f in res.findings:
        con.print(Text.assemble(Text("✓ " if f.holds else "✗ ", style="green" if f.holds else "red"), f.text))
    for w in res.warnings:
        con.print(Text("warning: " + sanitize(w), style="bold yellow"))


def experiment_png(con: Console, path: str) -> None:
    con.print(Text(f"Wrote {path}", style="dim"))


