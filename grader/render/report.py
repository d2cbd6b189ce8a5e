"""Grading reports: the verdict first, then the checks. No torch.

A report's first lines say what decided it: the header names the kata and its status, the
next line the failing checks and the catalogued mistake, if any. The full report
(`kata grade`, `kata watch --verbose`) then lists every check; the compact one (`kata watch`)
shows only the checks that did not pass and folds the passing ones into one line, so that
the deciding failure stays on an 80x24 screen.
"""
from __future__ import annotations

import textwrap

from rich.cells import chop_cells
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.core.results import KataResult, Report
from grader.render.base import NARROW, STATUS_STYLE, check_kind, fit, label, margin, mark, sanitize
from grader.checks.details import curves_of, label as curve_label
from grader.render.curves import curves

OUTPUT_LINES = 12  # lines of a submission's printed output shown (all with --verbose)
COMPACT_OUTPUT_LINES = 5


def verdict(r: KataResult) -> list[Text]:
    """What decided a failing kata, in pieces for one line: its failing checks, the mistake found."""
    failed = r.failed_checks
    if r.status != "fail" or not failed:
        return []
    pieces = [Text.assemble(Text("failing: ", style="bold red"), ", ".join(c.name for c in failed))]
    mistakes = list(dict.fromkeys(c.mistake for c in failed if c.mistake))
    if mistakes:
        pieces.append(Text.assemble(Text("known mistake: ", style="bold"), ", ".join(f"'{m}'" for m in mistakes)))
    return pieces


def _verdict(con: Console, r: KataResult) -> None:
    """The verdict's line(s): a list of failing checks too long for one line wraps between names,
    under the first name, never inside one and never back at the left edge."""
    pieces = verdict(r)
    if not pieces:
        return
    pad = " " * margin(con, 2)
    names = [c.name for c in r.failed_checks]
    words = [Text(n + ("," if i < len(names) - 1 else "")) for i, n in enumerate(names)]
    words[0] = Text.assemble(Text("failing: ", style="bold red"), words[0])
    lines = fit(con, words, sep=" ", indent=pad + " " * len("failing: "), first=pad)
    for more in pieces[1:]:  # the known mistake: on the same line if it fits, else under the margin
        last = lines.plain.rsplit("\n", 1)[-1]
        if len(last) + 3 + more.cell_len <= con.width:
            lines = lines + Text(" · ") + more
        else:
            lines = lines + Text("\n") + fit(con, [more], indent=pad + " " * len("known mistake: "), first=pad)
    con.print(lines)


def headline(con: Console, r: KataResult, path: str = "") -> Text:
    pieces = [Text.assemble(Text(sanitize(r.name), style="bold"), "  ", label(r.status)), Text(sanitize(path, one_line=True), style="dim"),
              Text(f"{r.seconds:.2f} s" + (f"  hints used: {r.hints_used}" if r.hints_used else ""), style="dim")]
    return fit(con, pieces, sep="  ", indent=" " * margin(con, 2))


def _checks_table(con: Console, rows: list[tuple[str, str, str]]) -> None:
    """rows: (kind, name, message), kind a key of base.MARKS."""
    table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False, expand=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for kind, name, message in rows:
        table.add_row(mark(kind), Text(sanitize(name)), label(kind), Text(sanitize(message)))
    con.print(table)


def _output(con: Console, r: KataResult, limit: int | None, more: str = "--verbose") -> None:
    if not r.output or r.status == "pass":
        return
    lines = r.output.splitlines()
    shown = lines if limit is None else lines[-limit:]
    said = "output of the submission:" if len(shown) == len(lines) else \
        f"output of the submission (last {len(shown)} of {len(lines)} lines; {more} shows all):"
    pad = " " * margin(con)
    con.print(Text("  " + said, style="dim"))
    width = max(20, con.width - len(pad) - 2)  # a long line goes on under the margin, two columns further in
    wrapped = [pad + ("  " if i else "") + part for line in shown
               for i, part in enumerate(chop_cells(sanitize(line.expandtabs(4)), width) or [""])]
    con.print(Text("\n".join(wrapped), style="dim"))


def _tracebacks(con: Console, r: KataResult, checks: list, verbose: bool, more: str = "--verbose") -> None:
    """Every frame of each reported error with `verbose`; without it, a line saying so (the
    message already names the submission's own line)."""
    shown = ([("", r.traceback)] if r.traceback else []) + [(c.name, c.traceback) for c in checks]
    if not shown:
        return
    if not verbose:
        said = f"{more} shows every frame of the traceback, the grader's and torch's too."
        con.print(fit(con, [Text(said, style="dim")], indent="  ", first="  "))
        return
    pad = " " * margin(con)
    grouped: dict[tuple[str, ...], list[str]] = {}  # one error reported by several checks: shown once
    for name, frames in shown:
        grouped.setdefault(tuple(frames), []).append(name)
    for frames, names in grouped.items():
        of = ", ".join(n for n in names if n)
        con.print(fit(con, [Text(f"traceback{f' ({of})' if of else ''}, innermost last:", style="dim")],
                      indent=pad, first="  "))
        for frame in frames:
            wrapped = textwrap.wrap(sanitize(frame), max(20, con.width - len(pad)), subsequent_indent="  ",
                                    break_on_hyphens=False) or [""]
            con.print(Text("\n".join(pad + line for line in wrapped), style="dim"))


def kata_result(con: Console, r: KataResult, path: str = "", compact: bool = False, verbose: bool = False,
                more: str = "--verbose") -> None:
    """One kata's report: the full one, or with `compact` the failures and one line of the rest.
    `more`: how the reader asks for everything (`--verbose` in a shell)."""
    con.print(headline(con, r, path))
    if r.message:  # each line wrapped under the margin (an error's code line keeps its own indent)
        pad = " " * margin(con, 2)
        for line in sanitize(r.message).splitlines():
            lead = pad + " " * (len(line) - len(line.lstrip()))
            con.print(fit(con, [Text(line.strip())], indent=lead, first=lead))
    _verdict(con, r)
    kinds = [(check_kind(c.status, c.advisory), c) for c in r.checks]
    if compact and not verbose:
        shown = [(k, c) for k, c in kinds if k in ("fail", "error", "advice")]
        if shown:
            _checks_table(con, [(k, c.name, c.message) for k, c in shown])
        for kind, word in (("pass", "pass"), ("skip", "skipped or not run")):
            names = [c.name for k, c in kinds if k == kind]
            if names:
                con.print(Text.assemble(mark(kind), f" {len(names)} {word}: ", Text(", ".join(names), style="dim")))
        series_of = [c for k, c in kinds if k in ("fail", "error")]
    else:
        if kinds:
            _checks_table(con, [(k, c.name, c.message) for k, c in kinds])
        series_of = r.checks
    _tracebacks(con, r, [c for k, c in kinds if c.traceback and k in ("fail", "error")], verbose, more)
    for c in series_of:
        drawn = [s for s in curves_of(c.details) if len(s["values"]) > 2]
        if drawn:  # titled from each curve's name and parameters (grader/checks/details.py)
            con.print(Text(f"  curves ({c.name}), over training:", style="dim"))
            curves(con, {curve_label(s): s["values"] for s in drawn}, indent=margin(con))
    _output(con, r, None if verbose else COMPACT_OUTPUT_LINES if compact else OUTPUT_LINES, more)
    con.print()


def report(con: Console, rep: Report, paths: dict[str, str] | None = None, verbose: bool = False,
           seed_hint: str = "--seed {seed}", more: str = "--verbose") -> None:
    """`seed_hint` and `more` say how the reader passes a seed back and asks for everything."""
    paths = paths or {}
    for r in rep.katas:
        kata_result(con, r, paths.get(r.name, ""), verbose=verbose, more=more)
    for w in rep.warnings:
        con.print(Text("warning: " + sanitize(w), style="bold yellow"))
    summary(con, rep, seed_hint)


def failing_names(rep: Report) -> str:
    """'dpo (values), ipo (timeout)': which katas do not pass, and why, in a few words."""
    out = []
    for r in rep.katas:
        if r.status == "pass":
            continue
        why = ", ".join(c.name for c in r.failed_checks) if r.status == "fail" else r.status.replace("_", " ")
        out.append(f"{r.name} ({why})")
    return ", ".join(out)


def summary(con: Console, rep: Report, seed_hint: str = "--seed {seed}") -> None:
    """`n / m katas pass`, what does not, and the seed; `seed_hint` says how to pass the seed back."""
    style = "bold green" if rep.ok else "bold"
    failing = failing_names(rep)
    con.print(fit(con, [Text(f"{rep.passed} / {rep.total} katas pass", style=style),
                        Text(f"not passing: {failing}" if failing else ""),
                        Text(f"seed {rep.seed} (reproduce with {seed_hint.format(seed=rep.seed)})", style="dim")]))


def progress_line(con: Console, done: int, total: int) -> None:
    width = 20 if con.width >= NARROW else 10
    filled = round(width * done / total) if total else 0
    con.print(Text.assemble("progress ", Text("█" * filled, style="green"), Text("░" * (width - filled), style="dim"),
                            f" {done} / {total} katas solved"))


# ------------------------------------------------------------------ notebooks
def _string_console(width: int, color: bool, record: bool = False) -> Console:
    import io

    return Console(file=io.StringIO(), width=width, force_terminal=color, color_system="truecolor" if color else None,
                   highlight=False, soft_wrap=False, force_jupyter=False, record=record)


NOTEBOOK_MORE = "print(result.full())"  # the notebook's --verbose (grader.api.GradeResult.full)


def report_ansi(rep: Report, width: int = 100, color: bool = True, verbose: bool = False) -> str:
    """The terminal report as a string (ANSI-styled when `color`); the seed as the API takes it."""
    con = _string_console(width, color)
    report(con, rep, verbose=verbose, seed_hint="seed={seed}", more=NOTEBOOK_MORE)
    return con.file.getvalue()  # type: ignore[attr-defined]


def report_html(rep: Report, width: int = 100) -> str:
    """The terminal report as HTML with inline styles, for Jupyter's `_repr_html_`."""
    con = _string_console(width, True, record=True)
    report(con, rep, seed_hint="seed={seed}", more=NOTEBOOK_MORE)
    return con.export_html(inline_styles=True, code_format=(
        '<pre style="font-family: Menlo, \'DejaVu Sans Mono\', consolas, monospace; font-size: 12px; '
        'line-height: 1.3">{code}</pre>'))


__all__ = ["STATUS_STYLE", "kata_result", "report", "summary", "progress_line", "report_ansi", "report_html",
           "verdict", "failing_names"]
