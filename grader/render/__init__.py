"""All terminal output, in one package. rich when it helps; no colour when NO_COLOR is set or
stdout is not a terminal (rich's own rule). Every function takes result objects and prints
them; none computes anything a check decides. No torch.

base: the console, status words, marks (one meaning each) and margins; report: grading
reports, verdict first; cohort: `kata report`'s table; catalog: list, show, hint, next,
solution; curves: sparklines and experiments; watch: the practice loop's screens.
"""
from grader.render.base import (MARKS, STATUS_LABEL, STATUS_STYLE, check_kind, command, console, error, label,
                                margin, mark, notice, sanitize, written)
from grader.render.catalog import (is_code, kata_hints, kata_list, kata_show, next_kata, prose, reflow, solution,
                                   solution_locked)
from grader.render.cohort import cohort
from grader.render.curves import curves, experiment, experiment_png, sparkline
from grader.render.report import (failing_names, kata_result, progress_line, report, report_ansi, report_html,
                                  summary, verdict)
from grader.render.watch import footer, watch_goodbye, watch_start, watch_step

__all__ = [
    "MARKS", "STATUS_LABEL", "STATUS_STYLE", "check_kind", "command", "console", "error", "label", "margin", "mark",
    "notice", "sanitize", "written", "is_code", "kata_hints", "kata_list", "kata_show", "next_kata", "prose", "reflow", "solution",
    "solution_locked", "cohort", "curves", "experiment", "experiment_png", "sparkline",
    "failing_names", "kata_result", "progress_line", "report", "report_ansi", "report_html", "summary", "verdict",
    "footer", "watch_goodbye", "watch_start", "watch_step",
]
