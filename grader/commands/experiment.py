"""`kata experiment`: replay an experiment (DPO vs IPO) with the workspace's own losses."""
from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem

from grader import render
from grader.commands._common import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, Within, examples, path_option, require_workspace,
                                     writable)
from grader.core import tolerances as tol


def _experiment(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from grader.practice.experiment import EXPERIMENTS

    if value not in EXPERIMENTS:
        raise click.BadParameter(f"unknown experiment '{value}'. Known experiments: {', '.join(EXPERIMENTS)}.")
    return value


def _complete_experiment(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from grader.practice.experiment import EXPERIMENTS

    return [CompletionItem(n) for n in EXPERIMENTS if n.startswith(incomplete)]


@click.command(epilog=examples(
    "kata experiment dpo-vs-ipo", "kata experiment dpo-vs-ipo --png curves.png",
    "kata experiment dpo-vs-ipo --reference"))
@click.argument("name", metavar="EXPERIMENT", callback=_experiment, shell_complete=_complete_experiment)
@click.option("--reference", is_flag=True, help="Train with the reference solutions instead of your own losses.")
@path_option
@click.option("--png", "png", type=click.Path(path_type=Path, dir_okay=False),
              help="Also draw the curves into FILE (needs matplotlib: pip install 'dpo-kata[plot]').")
@click.option("--steps", type=click.IntRange(min=3, max=20000), default=200, show_default=True,
              help="Gradient steps per run.")
@click.option("--seed", type=Within(int, tol.SEED_RANGE), default=0, show_default=True, help="Seed of the toy policy's starting logits.")
@click.pass_context
def experiment(ctx: click.Context, name: str, reference: bool, path: Path, png: Path | None, steps: int,
               seed: int) -> None:
    """Replay an experiment with your own losses. dpo-vs-ipo: DPO (β 0.1, 0.5) and IPO (β 0.1, 0.5, 1.0)
    train the toy policy; DPO's π(y_l) keeps falling, IPO's h stops at 1/(2β).

    Exit code 0: every run trained, 1: a loss is missing or failed, 2: usage error.
    """
    from grader.practice import experiment as experiments

    if not reference:
        require_workspace(path)
    writable(png)  # its folder exists, and it is not a kata file
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


COMMANDS = (experiment,)
