"""`kata report`: grade many workspaces, one per person, and print and write the cohort's results."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader import render
from grader.commands._common import (check_device, complete_kata, examples, exit_code, kata_names, new_seed,
                                     sandbox_options, writable, write_files)

if TYPE_CHECKING:
    from grader.practice.cohort import Cohort


@click.command(epilog=examples("kata report ~/candidates/*",
                               "kata report ~/candidates/* --csv cohort.csv",
                               "kata report ~/candidates/* --junit cohort.xml",
                               "kata report alice bob --kata dpo --seed 3",
                               "kata report --from-json results/*.json --csv cohort.csv"))
@click.argument("dirs", nargs=-1, required=True, metavar="DIR...", type=click.Path(path_type=Path))
@click.option("--from-json", "from_json", is_flag=True,
              help="The arguments are `kata grade --json` files (e.g. CI artifacts): build the report from them "
                   "without grading.")
@click.option("--kata", "names", multiple=True, callback=kata_names, metavar="NAME", shell_complete=complete_kata,
              help="Grade only this kata (repeatable); all when not given.")
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write one CSV row per (person, kata) to FILE.")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write every result, check by check, as JSON to FILE.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write JUnit XML to FILE: a testsuite per person, a testcase per kata.")
@sandbox_options("kata and person")
@click.option("--parallel", type=click.IntRange(min=0), default=0, show_default=True,
              help="Submissions run at once; 0: one per core.")
@click.pass_context
def report(ctx: click.Context, dirs: tuple[Path, ...], from_json: bool, names: list[str], csv_file: Path | None,
           json_file: Path | None, junit_file: Path | None, seed: int | None, timeout: float, device: str,
           memory_mb: int, parallel: int) -> None:
    """Grade many workspaces, one per person (DIR names the person), and print a person x kata table.

    With --from-json, the arguments are the JSON reports people's CI jobs wrote (a file named
    kata-results.json is named after its folder, any other after itself): the same table and
    files are built from them without running anyone's code.

    Exit code 0: every kata of every workspace passes, 1: any does not, 2: usage error, 3: the
    grader itself failed on a kata (a bug to report; no verdict on that kata).
    """
    writable(csv_file, json_file, junit_file)
    if from_json:
        from grader.practice.gather import GatherError, gather

        try:
            gathered = gather(list(dirs))
        except GatherError as exc:
            raise click.UsageError(str(exc)) from None
        _cohort_out(ctx, gathered.cohort, csv_file, json_file, junit_file, gathered.warnings)
    for d in dirs:
        if not d.is_dir():
            raise click.UsageError(f"'{d}' is not a workspace folder" + (" (JSON results need --from-json)."
                                                                       if d.suffix == ".json" else "."))
    unique: dict[Path, Path] = {}
    for d in dirs:  # a folder named twice is graded once
        unique.setdefault(d.resolve(), d)
    dirs = tuple(unique.values())
    people = _people(dirs)
    from grader.core.startup import grading_core
    from grader.sandbox.pool import Limits, Sandbox

    with Sandbox.start() as sandbox:  # before torch is imported here: the two imports overlap
        engine = grading_core()

        check_device(device)
        seed = new_seed(seed)
        options = engine.Options(seed=seed, device=device, parallel=parallel,
                                 limits=Limits(timeout=timeout, memory_mb=memory_mb))
        reports = engine.grade_many(names, list(dirs), options, sandbox=sandbox)
    from grader.practice.cohort import Cohort, Member

    _cohort_out(ctx, Cohort([Member(p, r) for p, r in zip(people, reports)], names, seed), csv_file, json_file,
                junit_file)


def _cohort_out(ctx: click.Context, cohort: "Cohort", csv_file: Path | None, json_file: Path | None,
                junit_file: Path | None, warnings: list[str] = ()) -> None:
    """The files asked for, then the table; the exit code of the whole cohort."""
    from grader.practice import export

    unwritten = not write_files(cohort, [(csv_file, export.write_csv), (json_file, export.write_json),
                                         (junit_file, export.write_junit)])
    con = render.console()
    for w in warnings:
        render.notice(con, w)
    render.cohort(con, cohort)
    code = exit_code([m.report for m in cohort.members])
    ctx.exit(max(code, 1) if unwritten else code)


def _people(dirs: tuple[Path, ...]) -> list[str]:
    """Each workspace folder's name; the path as given where two folders share a name."""
    from grader.sandbox.untrusted import encodable  # a folder named with byte \xff: "\udcff", which no writer takes

    names = [encodable(d.resolve().name or str(d)) for d in dirs]
    return [n if names.count(n) == 1 else encodable(str(d)) for n, d in zip(names, dirs)]


COMMANDS = (report,)
