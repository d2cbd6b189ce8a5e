"""The `kata` command: a thin group that registers the commands of `grader.commands`.

Each command parses, calls the grading core, hands results to `grader.render` and chooses
the exit code. `list`, `show`, `hint`, `next` and `--help` never import torch; commands
that grade start the sandbox before they import torch themselves, so both imports overlap.
Shell completion of commands and kata names is click's: `eval "$(_KATA_COMPLETE=bash_source kata)"`.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from grader import __version__
from grader.commands import MODULES
from grader.commands._common import EXIT_FAIL, EXIT_GRADER_FAULT, EXIT_OK, EXIT_USAGE  # noqa: F401  (the exit codes, for callers)


class _Kata(click.Group):
    """The group, with the last word on what a command let through: a file-system error is the
    environment's (a message, exit 2), any other exception the grader's own bug (a message
    that says so, exit 3); neither is a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from grader.render.base import console, error

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            error(console(stderr=True), f"{exc.strerror or exc}{where}.")
            ctx.exit(EXIT_USAGE)
        except Exception as exc:  # noqa: BLE001  reported, never a traceback
            error(console(stderr=True), f"the grader failed ({type(exc).__name__}: {exc}). This is a bug in the "
                  "grader, not in your code: please report it with this message and the command you ran.")
            ctx.exit(EXIT_GRADER_FAULT)


class _QuietPipe:
    """stdout that a reader may close early (`kata list | head -1`): what cannot be written is
    dropped, and the command still ends with its own exit code."""

    def __init__(self, stream: Any) -> None:
        self._stream, self._closed = stream, False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed = True
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@click.group(cls=_Kata, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kata", message="%(prog)s %(version)s")
def main() -> None:
    """Practise post-training losses by hand: DPO and its relatives, PPO, GRPO, KTO and more.

    Edit a stub in katas/, then run `kata grade NAME`: the grader says whether it is right,
    what is wrong when it is not, and how your loss behaves in training.

    \b
    Start:  kata list · kata next · kata show dpo
            kata hint dpo · kata grade dpo
    Loop:   kata watch (re-grades on save)
            kata solution dpo · kata experiment dpo-vs-ipo
    Completion (bash, in ~/.bashrc):
            eval "$(_KATA_COMPLETE=bash_source kata)"
    """
    _end_cleanly_on_sigterm()


def _end_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C: running children are ended, tampering is repaired and the
    run's temporary folder is removed before the process exits (code 143)."""
    import signal
    import threading

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminated)


for _module in MODULES:
    for _command in importlib.import_module(f"grader.commands.{_module}").COMMANDS:
        main.add_command(_command)


def run() -> None:
    """Console-script entry point: `main`, then exit without the interpreter's teardown.

    Tearing down an interpreter that has imported torch takes about half a second and does
    nothing useful for a command that has already printed its result.
    """
    if not isinstance(sys.stdout, _QuietPipe):
        sys.stdout = _QuietPipe(sys.stdout)  # type: ignore[assignment]
    try:
        main(prog_name="kata")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    pool = sys.modules.get("grader.sandbox.pool")
    if pool is not None:  # a zygote started early (grader.__main__) that no command took
        pool.discard_early()
    os._exit(code)
