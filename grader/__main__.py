"""`python -m grader` and the `kata` console script.

A command that grades gets its sandbox's zygote started first of all, before the command line
imports click, rich and torch (grader.sandbox.pool.start_early): the zygote's `import torch` is
what a one-kata grade waits for. Deciding that needs only the command's name, the first word;
`--help` anywhere, and a report read from JSON files, grade nothing. Every other command starts
as it always did.
"""
from __future__ import annotations

import sys

GRADING = ("grade", "report", "watch", "experiment")  # the commands that take a Sandbox


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in GRADING and not {"-h", "--help", "--from-json"} & set(args):
        from grader.sandbox import pool

        pool.start_early()
    from grader.cli import run

    run()


if __name__ == "__main__":
    main()
