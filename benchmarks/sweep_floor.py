"""The least time the seed sweep of tests/test_diagnosis.py can take on this machine.

    python benchmarks/sweep_floor.py              # the suite's seeds (0-2)
    python benchmarks/sweep_floor.py --seeds 25

The sweep grades every file of tests/mistakes, variants, uncatalogued and holes at each seed.
Each grading runs the kata's probe on the file's code: every case, with and without a graph,
its frozen-constants pass, its bad inputs and its behaviour run. This script times that probe
alone, in this process, on the reference solution, with one thread and after a warm-up: no
sandbox, no fork, no results file, no judging, no diagnosis. Its figure, divided by the cores,
is a lower bound for the sweep's wall time whatever the harness around it does. Asserts nothing.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from grader import registry  # noqa: E402

FOLDERS = ("mistakes", "variants", "uncatalogued", "holes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the sandbox's children
    total, files = 0.0, 0
    print(f"{'kata':16s} {'files':>5s} {'probe (ms)':>10s} {'CPU (s)':>8s}")
    for name in registry.KATAS:
        spec = importlib.import_module(registry.get(name).spec).SPEC
        module = importlib.import_module(f"solutions.{name}")
        n = sum(len(list((REPO / "tests" / folder / name).glob("*.py"))) for folder in FOLDERS)
        cases = [spec.make_cases(seed) for seed in range(args.seeds)]
        spec.probe(module, cases[0], 0, "")  # first calls load what later ones reuse
        start = time.perf_counter()
        for seed in range(args.seeds):
            spec.probe(module, cases[seed], seed, "")
        each = (time.perf_counter() - start) / args.seeds
        total += each * n * args.seeds
        files += n
        print(f"{name:16s} {n:5d} {1000 * each:10.0f} {each * n * args.seeds:8.1f}")
    cores = len(os.sched_getaffinity(0))
    print(f"{files} files x {args.seeds} seeds: {total:.1f} s of probes, {total / cores:.1f} s on {cores} cores")


if __name__ == "__main__":
    main()
