"""Curves as sparklines, and the experiments' screen. No torch."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.render.base import error

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
CURVE_WORDS = (("logp_rejected", "log π(y_l)"), ("logp_chosen", "log π(y_w)"), ("pi_rejected", "π(y_l)"),
               ("pi_chosen", "π(y_w)"), ("h_mean", "h"), ("_beta_", " β="))


def is_series(value: Any) -> bool:
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
    """The runs as a table, their curves on shared scales, then what the seeds say they show."""
    con.print(Text.assemble(Text(res.title, style="bold"),
                            Text(f"  ·  {res.source}  ·  {res.steps} steps, seed {res.seed}, lr "
                                 + ", ".join(f"{k} {v:g}" for k, v in res.lrs.items()), style="dim")))
    for p in res.problems:
        error(con, p)
    if res.runs:
        table = Table(box=None, padding=(0, 1), pad_edge=False)  # 53 columns: fits 60
        for col in ("loss", "β", "π(y_l) start", "final π(y_l)", "final h", "1/(2β)"):
            table.add_column(col, justify="left" if col == "loss" else "right", no_wrap=True)
        for r in res.runs:
            if r.error:  # the message goes under the table: a cell would cut it
                table.add_row(r.loss, f"{r.beta:g}", Text("error", style="red"), "", "", "")
                continue
            table.add_row(r.loss, f"{r.beta:g}", f"{r.pi_rejected[0]:.4f}", f"{r.final_pi_rejected:.5f}",
                          f"{r.final_h:.3f}", "—" if r.target is None else f"{r.target:g}")
        con.print(table)
        for r in res.runs:
            if r.error:
                error(con, f"{r.loss} β={r.beta:g}: {r.error}")
        trained = [r for r in res.runs if not r.error and r.h]
        if trained:
            con.print()
            con.print(Text("π(y_l) per step, one scale for all runs:", style="dim"))
            curves(con, {f"{r.loss} β={r.beta:g}": r.pi_rejected for r in trained}, shared=True, log=True, indent=2)
            con.print(Text("h per step, one scale for all runs:", style="dim"))
            curves(con, {f"{r.loss} β={r.beta:g}": r.h for r in trained}, shared=True, log=False, indent=2)
    for f in res.findings:
        con.print(Text.assemble(Text("✓ " if f.holds else "✗ ", style="green" if f.holds else "red"), f.text))
    for w in res.warnings:
        con.print(Text("warning: " + w, style="bold yellow"))


def experiment_png(con: Console, path: str) -> None:
    con.print(Text(f"Wrote {path}", style="dim"))


