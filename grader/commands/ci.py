"""`kata ci`: a CI workflow that grades a workspace repository on every push. Never imports torch."""
from __future__ import annotations

from pathlib import Path

import click

from grader import registry, render
from grader.commands._common import Within, complete_kata, examples, kata_name
from grader.core import tolerances as tol


@click.command(epilog=examples("kata ci github", "kata ci github --classroom --points 10",
                               "kata ci gitlab --mode progress --seed 7", "kata ci github --kata dpo --kata ipo"))
@click.argument("system", type=click.Choice(["github", "gitlab"]))
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="The workspace's repository: the workflow is written under it.")
@click.option("--path", "ws", default="katas", show_default=True,
              help="The workspace inside the repository, as CI sees it (relative to the repository's root).")
@click.option("--kata", "names", multiple=True, callback=lambda c, p, v: [kata_name(c, p, n) for n in v],
              shell_complete=complete_kata, metavar="NAME", help="A kata that counts (repeatable); every kata when not given.")
@click.option("--mode", type=click.Choice(["gate", "progress"]), default="gate", show_default=True,
              help="gate: the job fails until every counted kata passes; progress: it succeeds and reports.")
@click.option("--seed", type=Within(int, tol.SEED_RANGE), default=None,
              help="Grade with this seed, so that everyone's results compare; the grader picks one when not given.")
@click.option("--classroom", is_flag=True, help="github only: GitHub Classroom's autograding, one test per kata.")
@click.option("--points", type=click.IntRange(min=1), default=10, show_default=True,
              help="Points per kata (--classroom).")
@click.option("--install", default=None, metavar="SPEC",
              help="What pip installs in the job; default: this version of dpo-kata from the package index.")
def ci(system: str, repo: Path, ws: str, names: list[str], mode: str, seed: int | None, classroom: bool, points: int,
       install: str | None) -> None:
    """Write a CI workflow that grades the workspace on every push.

    \b
    kata ci github              GitHub Actions
    kata ci github --classroom  GitHub Classroom
    kata ci gitlab              GitLab CI

    They write .github/workflows/kata.yml, .github/workflows/classroom.yml and
    .gitlab-ci.yml. The job grades the workspace, shows a summary on the run's page (GitHub) or a
    JUnit test report (GitLab), and keeps kata-results.json as an artifact: gather
    everyone's with `kata report --from-json`. An existing file is saved to a
    timestamped backup first.
    """
    from grader.practice import ci as workflows

    if classroom and system != "github":
        raise click.UsageError("--classroom is GitHub Classroom's: use it with `kata ci github`.")
    if Path(ws).is_absolute() or ".." in Path(ws).parts:
        raise click.UsageError(f"--path '{ws}' must be a folder inside the repository, relative to its root.")
    if not repo.is_dir():
        raise click.UsageError(f"no repository folder at '{repo}'.")
    extra = {"install": install} if install else {}
    setup = workflows.Setup(tuple(names), ws, mode, seed, points=points, **extra)
    try:
        written = workflows.write(repo, "classroom" if classroom else system, setup, registry.names())
    except OSError as exc:
        raise click.ClickException(f"could not write the workflow: {exc}") from None
    con = render.console()
    if written.backup:
        render.notice(con, f"the existing {written.path} was saved as {written.backup}.")
    if not (repo / ws).is_dir():
        render.notice(con, f"there is no workspace at '{repo / ws}' yet: `kata init {repo / ws}` creates one.")
    render.written(con, written.path)


COMMANDS = (ci,)
