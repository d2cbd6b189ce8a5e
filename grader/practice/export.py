"""A cohort's results as files for other tools: CSV (spreadsheets), JSON, JUnit XML (CI). No torch.

Every writer takes the same `Cohort` the terminal table is drawn from and writes
atomically, so an interrupted run never leaves half a file behind.
"""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.core.files import write_output
from grader.practice.cohort import Cohort
from grader.core.results import KataResult

CSV_COLUMNS = ("person", "workspace", "kata", "status", "passed_checks", "total_checks", "failed_checks",
               "hints_used", "seconds", "message")

# XML 1.0 cannot carry these at all, not even escaped; a submission's output may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def headline(r: KataResult) -> str:
    """One line on why a kata does not pass ('' when it does)."""
    if r.message:
        return r.message
    failed = r.failed_checks
    if not failed:
        return ""
    return f"{len(failed)} failing check{'s' if len(failed) > 1 else ''}: {', '.join(c.name for c in failed)}"


# ------------------------------------------------------------------ CSV
def csv_text(cohort: Cohort) -> str:
    """One row per (person, kata). total_checks counts the checks that ran (not the skipped ones)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in cohort.members:
        for r in m.report.katas:
            ran = [c for c in r.checks if c.status != "skip"]
            writer.writerow([m.person, m.report.workspace, r.name, r.status, sum(c.status == "pass" for c in ran),
                             len(ran), ";".join(c.name for c in r.failed_checks), r.hints_used, f"{r.seconds:.3f}",
                             headline(r)])
    return out.getvalue()


def write_csv(cohort: Cohort, path: Path) -> None:
    write_output(path, csv_text(cohort))


# ------------------------------------------------------------------ JSON
def write_json(cohort: Cohort, path: Path) -> None:
    write_output(path, cohort.to_json() + "\n")


# ------------------------------------------------------------------ JUnit XML
# fail and not_started are the submission's failures; error and timeout stop it from being graded.
JUNIT_ELEMENT = {"fail": "failure", "not_started": "failure", "error": "error", "timeout": "error",
                 "grader_error": "error"}  # the grader's fault: JUnit's "error" (not a test failure)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _counts(results: list[KataResult]) -> dict[str, str]:
    kinds = [JUNIT_ELEMENT.get(r.status) for r in results]
    return {"tests": str(len(results)), "failures": str(kinds.count("failure")), "errors": str(kinds.count("error")),
            "skipped": "0", "time": f"{sum(r.seconds for r in results):.3f}"}


def _details(r: KataResult) -> str:
    lines = [r.message] if r.message else []
    lines += [f"{c.name}: {c.message}" for c in r.failed_checks]
    return "\n".join(lines)


def junit_tree(cohort: Cohort) -> ET.Element:
    """<testsuites> with one <testsuite> per person and one <testcase> per kata."""
    every = [r for m in cohort.members for r in m.report.katas]
    root = ET.Element("testsuites", {"name": "kata report", **_counts(every)})
    for m in cohort.members:
        suite = ET.SubElement(root, "testsuite", {"name": _clean(m.person), **_counts(m.report.katas)})
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="seed", value=str(cohort.seed))
        ET.SubElement(props, "property", name="workspace", value=_clean(m.report.workspace))
        for r in m.report.katas:
            case = ET.SubElement(suite, "testcase", name=r.name, classname=_clean(m.person), time=f"{r.seconds:.3f}")
            element = JUNIT_ELEMENT.get(r.status)
            if element:
                problem = ET.SubElement(case, element, type=r.status, message=_clean(headline(r)))
                problem.text = _clean(_details(r))
            if r.output:
                ET.SubElement(case, "system-out").text = _clean(r.output)
        if m.report.warnings:
            ET.SubElement(suite, "system-err").text = _clean("\n".join(m.report.warnings))
    return root


def junit_text(cohort: Cohort) -> str:
    root = junit_tree(cohort)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(cohort: Cohort, path: Path) -> None:
    write_output(path, junit_text(cohort))


# ------------------------------------------------------------------ Markdown (a CI job summary)
SUMMARY_MARK = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error", "timeout": "⏱️ timeout",
                "not_started": "⬜ not started"}


def _cell(text: str) -> str:
    """A Markdown table cell: one line, pipes escaped, control characters and HTML made harmless."""
    text = _NOT_XML.sub("\ufffd", " ".join(text.split()))
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary_markdown(cohort: Cohort) -> str:
    """A Markdown page for a CI run's summary: per person, a table of katas with status, the
    failing check and the named mistake, then each failure's messages, folded away."""
    from grader import __version__

    out = []
    for m in cohort.members:
        r = m.report
        who = f"{_cell(m.person)}: " if len(cohort.members) > 1 else ""
        out += [f"## {who}{r.passed} / {r.total} katas pass", "",
                "| kata | status | failing check | mistake |", "| --- | --- | --- | --- |"]
        for k in r.katas:
            first = k.failed_checks[0] if k.failed_checks else None
            mistake = next((c.mistake for c in k.failed_checks if c.mistake), None) or ""
            out.append(f"| {_cell(k.name)} | {SUMMARY_MARK.get(k.status, k.status)} | "
                       f"{_cell(first.name) if first else ''} | {_cell(mistake)} |")
        out.append("")
        for k in r.katas:
            text = _details(k)
            if text:  # inside a fence nothing is interpreted; a fence in the text itself is defused
                body = _NOT_XML.sub("\ufffd", text).replace("```", "'''")
                out += ["<details>", f"<summary>{_cell(k.name)}: {SUMMARY_MARK.get(k.status, k.status)}</summary>",
                        "", "```text", body, "```", "", "</details>", ""]
        out += [f"> warning: {_cell(w)}" for w in r.warnings]
        if r.warnings:
            out.append("")
    out.append(f"Seed {cohort.seed} (reproduce with `kata grade --seed {cohort.seed}`) · dpo-kata {__version__}")
    return "\n".join(out) + "\n"


def write_summary(cohort: Cohort, path: Path) -> None:
    write_output(path, summary_markdown(cohort))
