"""`kata grade`: grade katas in one workspace (or the reference solutions)."""
from __future__ import annotations

from pathlib import Path

import click

from grader import registry, render
from grader.commands._common import (EXIT_GRADER_FAULT, EXIT_USAGE, check_device, complete_kata, examples, exit_code,
                                     kata_names, new_seed, path_option, require_workspace, sandbox_options, writable,
                                     write_files)
from grader.core import workspace
from grader.core.faults import GraderFault, stage
from grader.core.state import file_digest


@click.command(epilog=examples("kata grade dpo", "kata grade dpo ipo --seed 7", "kata grade --track preference",
                               "kata grade --path ~/candidates/alice --json > alice.json",
                               "kata grade --junit kata.xml --summary summary.md",
                               "kata grade --reference"))
@click.argument("names", nargs=-1, callback=kata_names, shell_complete=complete_kata)
@path_option
@click.option("--track", type=click.Choice(list(registry.TRACKS)), default=None,
              help="Grade one track of the curriculum (with no NAME).")
@click.option("--reference", is_flag=True, help="Grade the reference solutions instead (a self-test of the grader).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option("--verbose", "-v", is_flag=True, help="Everything the submission printed, not only its last lines, and every frame of a "
              "traceback.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write JUnit XML to FILE: a testcase per kata.")
@click.option("--summary", "summary_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a Markdown summary to FILE (a CI job summary).")
@sandbox_options("kata")
@click.pass_context
def grade(ctx: click.Context, names: list[str], path: Path, track: str | None, reference: bool, as_json: bool,
          verbose: bool, junit_file: Path | None, summary_file: Path | None, seed: int | None, timeout: float,
          device: str, memory_mb: int) -> None:
    """Grade katas (all when none is named).

    Exit code 0: all pass, 1: any does not, 2: usage error, 3: the grader itself failed on a
    kata (a bug in the grader, to report; that kata gets no verdict and is not charged).
    """
    writable(junit_file, summary_file)
    if track is not None:
        if len(names) != len(registry.KATAS):
            raise click.UsageError("--track grades a whole track: name no kata with it.")
        names = registry.track_names(track)
    if not reference:
        require_workspace(path)
    digests = {n: file_digest(workspace.kata_path(path, registry.get(n))) for n in names} if not reference else {}
    from grader.core.startup import grading_core
    from grader.sandbox.pool import Limits, Sandbox

    with Sandbox.start() as sandbox:  # before torch is imported here: the two imports overlap
        engine = grading_core()

        check_device(device)
        options = engine.Options(seed=new_seed(seed), device=device,
                                 limits=Limits(timeout=timeout, memory_mb=memory_mb))
        report = engine.grade(names, None if reference else path, options, reference=reference, sandbox=sandbox)
    state = None
    if not reference:
        from grader.core.progress import record

        try:
            state = record(path, report, digests)
        except OSError as exc:  # a read-only workspace is graded all the same; only progress is not kept
            render.notice(render.console(stderr=True), f"progress was not recorded in {path} ({exc.strerror or exc}"
                          f"{': ' + str(exc.filename) if exc.filename else ''}); the grades above are complete.")
        if state is not None and state.notice:  # the state file was moved aside: name the backup (stderr: --json owns stdout)
            render.notice(render.console(stderr=True), state.notice)
    unwritten = False
    if junit_file or summary_file:
        from grader.practice import export
        from grader.practice.cohort import Cohort, Member

        person = "reference solutions" if reference else (path.resolve().name or str(path))
        one = Cohort([Member(person, report)], [k.name for k in report.katas], report.seed)
        unwritten = not write_files(one, [(junit_file, export.write_junit), (summary_file, export.write_summary)])
    try:
        with stage("rendering"):
            if as_json:
                click.echo(report.to_json())
            else:
                con = render.console()
                paths = {r.name: str(workspace.kata_path(path, registry.get(r.name)))
                         for r in report.katas} if not reference else {}
                render.report(con, report, paths, verbose=verbose)
                if state is not None and len(names) == len(registry.KATAS):
                    render.progress_line(con, sum(s.status == "pass" for s in state.katas.values()),
                                         len(registry.KATAS))
    except GraderFault as fault:  # the report is the grader's: say so on stderr, where --json is not read
        if isinstance(fault.__cause__, OSError):  # stdout itself failed (a full disk): the environment's
            cause = fault.__cause__
            render.error(render.console(stderr=True), f"could not write the report: {cause.strerror or cause}.")
            ctx.exit(EXIT_USAGE)
        render.error(render.console(stderr=True), fault.message)
        ctx.exit(EXIT_GRADER_FAULT)
    ctx.exit(max(exit_code([report]), 1) if unwritten else exit_code([report]))


COMMANDS = (grade,)
