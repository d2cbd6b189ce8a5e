"""The test suite's wall time against an earlier commit's, measured in the same run.

    python benchmarks/suite.py --before ad23a4a           # one run of each, alternated
    python benchmarks/suite.py --before ad23a4a --rounds 2

The earlier commit is checked out into a temporary worktree and its suite runs there, with
that checkout first on PYTHONPATH (its sandbox children and subprocesses import its grader,
not the installed one). Rounds alternate before / after, so drifting load hits both alike.
Each suite's passed and failed counts are printed with its time, since a suite that grew
is not the same work: compare per test as well as in total. Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"]


def run_suite(root: Path) -> tuple[float, str, list[str]]:
    """(seconds, the counts pytest ends with, the tests that failed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    proc = subprocess.run(PYTEST, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    counts = re.findall(r"(\d+) (passed|failed|skipped|error)", proc.stdout.splitlines()[-1] if proc.stdout else "")
    failed = [line.split(" - ")[0] for line in proc.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return seconds, ", ".join(f"{n} {what}" for n, what in counts) or f"exit {proc.returncode}", failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=REPO, check=True,
                       capture_output=True)
        try:
            times: dict[str, list[float]] = {"before": [], "after": []}
            for r in range(args.rounds):
                for name, root in (("before", before), ("after", REPO)):
                    seconds, counts, failed = run_suite(root)
                    times[name].append(seconds)
                    load = os.getloadavg()[0]
                    print(f"round {r + 1}  {name:6s} {seconds:7.1f} s  ({counts}; load {load:.2f})", flush=True)
                    for test in failed:
                        print(f"    {test}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=REPO, capture_output=True)
    b, a = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"median: before {b:.1f} s, after {a:.1f} s, after / before = {a / b:.2f}")


if __name__ == "__main__":
    main()
