"""The `kata` command: parse, call the core, hand results to the renderer, choose the exit code.

`list`, `show`, `hint` and `--help` never import torch; `grade` starts the sandbox before
it imports torch itself, so both imports overlap.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from grader import registry, render
from grader.core import workspace
from grader.core.faults import GraderFault, stage
from grader.core.state import State

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_GRADER_FAULT = 3  # the grader's own code failed (grader.core.faults): a bug to report, no verdict


def _kata(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return registry.get(value).name
    except registry.UnknownKata as exc:
        raise click.BadParameter(str(exc)) from None


def _katas(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(_kata(ctx, param, v) for v in values)) or registry.names()  # once each, in order


def _workspace(path: Path) -> Path:
    try:
        return workspace.require_workspace(path)
    except workspace.WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None


path_option = click.option("--path", "path", type=click.Path(path_type=Path), default=workspace.DEFAULT,
                           show_default=True, help="The workspace: a folder with one NAME.py per kata.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """Practise preference-optimisation losses (DPO, IPO, SimPO, ORPO, Bradley-Terry) by hand.

    Edit a stub in katas/, then run `kata grade NAME`: the grader says whether it is right,
    what is wrong when it is not, and how your loss behaves in training.

    \b
    Start:   kata list · kata show dpo · kata hint dpo · kata grade dpo
    Loop:    kata watch (re-grades on save) · kata solution dpo · kata experiment dpo-vs-ipo
    """


@main.command("list")
@path_option
def list_(path: Path) -> None:
    """Every kata, its status in the workspace, and the hints used."""
    state = State.load(path) if path.is_dir() else None
    rows = []
    for fs in workspace.file_states(path):
        progress = state.get(fs.kata.name) if state else None
        if progress and progress.status:
            status = progress.status.replace("_", " ")
            if fs.state == "stub" and progress.status != "not_started":
                status = "not started (reset)"
        else:
            status = {"missing": "missing", "stub": "not started", "edited": "in progress"}[fs.state]
        hints = f"{progress.hints}/{len(fs.kata.hints)}" if progress and progress.hints else ""
        rows.append((fs.kata, status, hints))
    con = render.console()
    if state and state.notice:
        render.notice(con, state.notice)
    if not path.is_dir():
        render.notice(con, f"no workspace at '{path}' yet: `kata init {path}` creates one.")
    render.kata_list(con, rows)


@main.command()
@click.argument("name", callback=_kata)
def show(name: str) -> None:
    """The problem statement, the signature, and what the grader checks."""
    render.kata_show(render.console(), registry.get(name))


@main.command()
@click.argument("name", callback=_kata)
@click.option("--all", "show_all", is_flag=True, help="Show every hint level at once.")
@path_option
def hint(name: str, show_all: bool, path: Path) -> None:
    """Reveal the next hint level: concept, then the computation's shape, then the formula."""
    kata = registry.get(name)
    con = render.console()
    if not path.is_dir():  # hints still work outside a workspace; nothing is recorded
        render.kata_hints(con, kata, len(kata.hints) if show_all else 1, True)
        return
    state = State.load(path)
    progress = state.get(name)
    before = progress.hints
    progress.hints = len(kata.hints) if show_all else min(len(kata.hints), before + 1)
    state.save()
    render.kata_hints(con, kata, progress.hints, progress.hints > before)


@main.command()
@click.argument("names", nargs=-1, callback=_katas)
@path_option
@click.option("--track", type=click.Choice(list(registry.TRACKS)), default=None,
              help="Grade one track of the curriculum (with no NAME).")
@click.option("--reference", is_flag=True, help="Grade the reference solutions instead (a self-test of the grader).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else.")
@click.option("--seed", type=int, default=None, help="Seed of the random inputs; a report names its seed to reproduce it.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Wall-clock seconds per kata.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: also compare CUDA with the CPU when CUDA is present.")
@click.option("--memory-mb", type=click.IntRange(min=16), default=2048, show_default=True,
              help="Memory a submission may allocate on top of torch itself.")
@click.pass_context
def grade(ctx: click.Context, names: list[str], path: Path, track: str | None, reference: bool, as_json: bool,
          seed: int | None, timeout: float, device: str, memory_mb: int) -> None:
    """Grade katas (all when none is named).

    Exit code 0: all pass, 1: any does not, 2: usage error, 3: the grader itself failed on a
    kata (a bug in the grader, to report; that kata gets no verdict and is not charged).
    """
    if track is not None:
        if len(names) != len(registry.KATAS):
            raise click.UsageError("--track grades a whole track: name no kata with it.")
        names = registry.track_names(track)
    if not reference:
        _workspace(path)
    from grader.sandbox.pool import Limits, Sandbox

    with Sandbox.start() as sandbox:  # before torch is imported here: the two imports overlap
        from grader.core import engine

        if device == "cuda" and not engine.cuda_available():
            raise click.UsageError("--device cuda: CUDA is not available on this machine.")
        seed = seed if seed is not None else int.from_bytes(os.urandom(3), "big")
        options = engine.Options(seed=seed, device=device, limits=Limits(timeout=timeout, memory_mb=memory_mb))
        report = engine.grade(names, None if reference else path, options, reference=reference, sandbox=sandbox)
    if not reference:
        from grader.core.progress import record

        state = record(path, report)
        if state.notice:  # the state file was moved aside: name the backup (on stderr: --json owns stdout)
            render.notice(render.console(stderr=True), state.notice)
    try:
        with stage("rendering"):
            if as_json:
                click.echo(report.to_json())
            else:
                con = render.console()
                paths = {r.name: str(workspace.kata_path(path, registry.get(r.name)))
                         for r in report.katas} if not reference else {}
                render.report(con, report, paths)
                if not reference and len(names) == len(registry.KATAS):
                    render.progress_line(con, sum(s.status == "pass" for s in state.katas.values()),
                                         len(registry.KATAS))
    except GraderFault as fault:  # the report is the grader's: say so on stderr, where --json is not read
        render.error(render.console(stderr=True), fault.message)
        ctx.exit(EXIT_GRADER_FAULT)
    ctx.exit(_exit_code([report]))


def _exit_code(reports: list[Any]) -> int:
    """3 when the grader failed on any kata (its verdict is missing), else 0 when all pass, else 1."""
    if any(r.grader_faults for r in reports):
        return EXIT_GRADER_FAULT
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAIL


@main.command()
@click.argument("dirs", nargs=-1, required=True, metavar="DIR...",
                type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--kata", "names", multiple=True, callback=_katas, metavar="NAME",
              help="Grade only this kata (repeatable); all when not given.")
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write one CSV row per (person, kata) to FILE.")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write every result, check by check, as JSON to FILE.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write JUnit XML to FILE: a testsuite per person, a testcase per kata.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Wall-clock seconds per kata and person.")
@click.option("--seed", type=int, default=None, help="Seed of the random inputs, the same for everyone.")
@click.option("--parallel", type=click.IntRange(min=0), default=0, show_default=True,
              help="Submissions run at once; 0: one per core.")
@click.pass_context
def report(ctx: click.Context, dirs: tuple[Path, ...], names: list[str], csv_file: Path | None,
           json_file: Path | None, junit_file: Path | None, timeout: float, seed: int | None, parallel: int) -> None:
    """Grade many workspaces, one per person (DIR names the person), and print a person x kata table.

    Exit code 0: every kata of every workspace passes, 1: any does not, 2: usage error, 3: the
    grader itself failed on a kata (a bug to report; no verdict on that kata).
    """
    for out in (csv_file, json_file, junit_file):
        if out is not None and not out.resolve().parent.is_dir():
            raise click.UsageError(f"cannot write '{out}': its folder does not exist.")
    unique: dict[Path, Path] = {}
    for d in dirs:  # a folder named twice is graded once
        unique.setdefault(d.resolve(), d)
    dirs = tuple(unique.values())
    people = _people(dirs)
    from grader.sandbox.pool import Limits, Sandbox

    with Sandbox.start() as sandbox:  # before torch is imported here: the two imports overlap
        from grader.core import engine

        seed = seed if seed is not None else int.from_bytes(os.urandom(3), "big")
        options = engine.Options(seed=seed, parallel=parallel, limits=Limits(timeout=timeout))
        reports = engine.grade_many(names, list(dirs), options, sandbox=sandbox)
    from grader.practice import export
    from grader.practice.cohort import Cohort, Member

    cohort = Cohort([Member(p, r) for p, r in zip(people, reports)], names, seed)
    for out, write in ((csv_file, export.write_csv), (json_file, export.write_json), (junit_file, export.write_junit)):
        if out is not None:
            write(cohort, out)
    render.cohort(render.console(), cohort)
    ctx.exit(_exit_code(reports))


def _people(dirs: tuple[Path, ...]) -> list[str]:
    """Each workspace folder's name; the path as given where two folders share a name."""
    names = [d.resolve().name or str(d) for d in dirs]
    return [n if names.count(n) == 1 else str(d) for n, d in zip(names, dirs)]


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Create a workspace of fresh stubs in DIRECTORY (never overwrites a file)."""
    try:
        written = workspace.init(directory)
    except workspace.WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None
    con = render.console()
    con.print(f"Created {len(written)} stubs in {directory}: {', '.join(p.name for p in written)}")
    con.print(f"Next: `kata show dpo`, edit {directory / 'dpo.py'}, then `kata grade dpo --path {directory}`.")


@main.command()
@click.argument("name", callback=_kata)
@path_option
def reset(name: str, path: Path) -> None:
    """Restore NAME's stub; the current file is first saved to a timestamped backup."""
    _workspace(path)
    saved = workspace.reset(path, registry.get(name))
    con = render.console()
    if saved:
        con.print(f"Saved your {name}.py as {saved}")
    con.print(f"Restored the stub {workspace.kata_path(path, registry.get(name))}")


# ------------------------------------------------------------------ the practice loop
def _optional_kata(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _kata(ctx, param, value)


def _experiment(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from grader.practice.experiments import EXPERIMENTS

    if value not in EXPERIMENTS:
        raise click.BadParameter(f"unknown experiment '{value}'. Known experiments: {', '.join(EXPERIMENTS)}.")
    return value


@main.command()
@click.argument("name", required=False, callback=_optional_kata)
@path_option
@click.option("--seed", type=int, default=None, help="Seed of the random inputs, fixed for the session.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Wall-clock seconds per grade.")
@click.pass_context
def watch(ctx: click.Context, name: str | None, path: Path, seed: int | None, timeout: float) -> None:
    """Re-grade on every save; when a kata passes, move on to the next unfinished one.

    Starts with NAME, or the first kata not passed yet. Ctrl-C stops.
    """
    _workspace(path)
    from grader.practice import watch as watching
    from grader.sandbox.pool import Limits, Sandbox

    con = render.console()
    seed = seed if seed is not None else int.from_bytes(os.urandom(3), "big")
    state = State.load(path)  # an unusable state file is moved aside here: say where it went
    if state.notice:
        render.notice(con, state.notice)
    start = name or watching.first_unfinished(path)
    grader = watching.WorkspaceGrader(path, Sandbox.start(), seed, Limits(timeout=timeout))  # torch loads meanwhile
    try:
        render.watch_start(con, str(path), start, seed)
        for step in watching.watch(path, start, grader):
            render.watch_step(con, step, watching.kata_paths(path))
    except KeyboardInterrupt:
        pass
    finally:
        grader.close()
    state = State.load(path)
    render.watch_goodbye(con, sum(state.get(n).status == "pass" for n in registry.names()), len(registry.KATAS))
    ctx.exit(EXIT_OK)


@main.command()
@click.argument("name", callback=_kata)
@click.option("--force", is_flag=True, help="Show it even though NAME has not passed in the workspace.")
@path_option
@click.pass_context
def solution(ctx: click.Context, name: str, force: bool, path: Path) -> None:
    """The reference solution of NAME, once NAME has passed in the workspace (or with --force)."""
    kata = registry.get(name)
    if not (force or (path.is_dir() and State.load(path).get(name).status == "pass")):
        render.solution_locked(render.console(stderr=True), kata, str(path))
        ctx.exit(EXIT_FAIL)
    source_path = workspace.solution_path(kata)
    render.solution(render.console(), kata, source_path.read_text(), str(source_path))


@main.command()
@click.argument("name", metavar="EXPERIMENT", callback=_experiment)
@click.option("--reference", is_flag=True, help="Train with the reference solutions instead of your own losses.")
@path_option
@click.option("--png", "png", type=click.Path(path_type=Path, dir_okay=False),
              help="Also draw the curves into FILE (needs matplotlib: pip install 'dpo-kata[plot]').")
@click.option("--steps", type=click.IntRange(min=3, max=20000), default=200, show_default=True,
              help="Gradient steps per run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the runs' starting point.")
@click.pass_context
def experiment(ctx: click.Context, name: str, reference: bool, path: Path, png: Path | None, steps: int,
               seed: int) -> None:
    """Replay an experiment from the seeds with your own code (in the sandbox, as when grading):
    each run's numbers, its curves, and whether they show what the seeds say.

    Exit code 0: every run trained, 1: a loss is missing or failed, 2: usage error.
    """
    from grader.practice import experiment as experiments

    if not reference:
        _workspace(path)
    if png is not None and not png.resolve().parent.is_dir():
        raise click.UsageError(f"cannot write '{png}': its folder does not exist.")
    if png is not None and not experiments.plot_available():
        render.error(render.console(stderr=True), "--png needs matplotlib, an optional extra: "
                     "pip install 'dpo-kata[plot]' (or pip install matplotlib).")
        ctx.exit(EXIT_USAGE)
    from grader.sandbox.pool import Sandbox

    with Sandbox.start() as sandbox:
        result = experiments.run(name, None if reference else path, steps, seed, sandbox)
    con = render.console()
    render.experiment(con, result)
    if png is not None and result.runs:
        experiments.write_png(result, png)
        render.experiment_png(con, str(png))
    ctx.exit(EXIT_OK if result.ok else EXIT_FAIL)


def run() -> None:
    """Console-script entry point: `main`, then exit without the interpreter's teardown.

    Tearing down an interpreter that has imported torch takes about half a second and does
    nothing useful for a command that has already printed its result.
    """
    import sys

    try:
        main(prog_name="kata")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
