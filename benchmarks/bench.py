"""How fast the `kata` command is, in units of `python -c "import torch"` timed in the same run.

    python benchmarks/bench.py            # ~5 runs of each figure (a few minutes)
    python benchmarks/bench.py --quick    # fewer runs
    python benchmarks/bench.py --markdown # the table as Markdown, for benchmarks/RESULTS.md

Every figure is the median wall-clock time of fresh processes (`python -m grader ...` from
the repository, so the code measured is this checkout's). It prints figures and ratios and
asserts nothing: timings depend on the machine, so no test depends on them.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COHORT = 20  # workspaces in the `kata report` figure
# this checkout's grader, whatever is installed; plain output
ENV = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


@dataclass
class Figure:
    name: str
    seconds: float
    unit: float  # the torch import, timed alternately with this figure's runs
    target: str  # e.g. "< 0.35 s" or "<= 1.7 x"
    ok: bool
    note: str = ""


TORCH_IMPORT = [sys.executable, "-c", "import torch"]


def run_once(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start, proc.returncode, proc.stderr.decode()[-200:].strip()


def timed(cmd: list[str], runs: int, cwd: Path = REPO, paired: bool = False) -> tuple[float, float, str]:
    """Median wall time of `runs` fresh runs of `cmd`, and (when `paired`) the median of as many
    torch imports run alternately with them: a ratio of the two survives a machine whose load
    drifts. A note when an exit code is not 0."""
    times, units, note = [], [], ""
    for _ in range(runs):
        if paired:
            units.append(run_once(TORCH_IMPORT, cwd)[0])
        seconds, code, err = run_once(cmd, cwd)
        times.append(seconds)
        if code != 0:
            note = f"exit code {code}: {err}"
    return statistics.median(times), statistics.median(units) if units else float("nan"), note


def kata(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", *args]


def imports_torch(args: list[str], cwd: Path) -> bool:
    """Whether `python ARGS` imports torch at all, from `-X importtime`'s list of every import."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    return any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "torch"
               for line in proc.stderr.decode().splitlines() if line.startswith("import time:"))


def registry_names() -> list[str]:
    sys.path.insert(0, str(REPO))
    from grader import registry  # no torch

    return registry.names()


def make_workspace(folder: Path) -> Path:
    """A workspace holding a copy of every reference solution."""
    folder.mkdir(parents=True)
    for p in (REPO / "solutions").glob("*.py"):
        if p.name != "__init__.py":
            shutil.copy2(p, folder / p.name)
    return folder


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}, torch {torch_version}, "
            f"{platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs of each figure")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    heavy_runs = 1 if args.quick else 3  # the 20-workspace report takes tens of seconds a run

    load_at_start = os.getloadavg()  # other work on the machine slows every figure; the ratios less so
    unit, _, _ = timed(TORCH_IMPORT, runs + 2)
    figures: list[Figure] = []
    tmp = Path(tempfile.mkdtemp(prefix="kata-bench-"))
    try:
        ws = make_workspace(tmp / "ws")
        cohort = [make_workspace(tmp / "cohort" / f"person{i:02d}") for i in range(COHORT)]

        # -------------------------------------------------------------- commands that never grade
        if not imports_torch(["-c", "import torch"], cwd=tmp):
            sys.exit("the -X importtime check does not see `import torch` itself; the 'no torch' column would mean nothing")
        for label, cmd in [("kata --help", ["--help"]), ("kata list", ["list", "--path", str(ws)]),
                           ("kata show dpo", ["show", "dpo"]),
                           ("kata hint dpo --all", ["hint", "dpo", "--all", "--path", str(ws)])]:
            seconds, _, note = timed(kata(*cmd), runs, cwd=tmp)
            torch_loaded = imports_torch(["-m", "grader", *cmd], cwd=tmp)
            if torch_loaded:
                note = (note + "; " if note else "") + "imports torch"
            figures.append(Figure(label, seconds, unit, "< 0.35 s, no torch", seconds < 0.35 and not torch_loaded, note))

        # -------------------------------------------------------------- grading
        def ratio_figure(label: str, cmd: list[str], target: float) -> Figure:
            seconds, paired_unit, note = timed(kata(*cmd), runs, cwd=tmp, paired=True)
            return Figure(label, seconds, paired_unit, f"<= {target:g} x", seconds <= target * paired_unit, note)

        # The project's targets: one kata near the torch import itself (1.2 x, measured with a
        # margin of 0.1 for noise), every kata within 2.5 x.
        names = registry_names()
        figures.append(ratio_figure("kata grade dpo --reference", ["grade", "dpo", "--reference", "--seed", "0"], 1.3))
        figures.append(ratio_figure("kata grade dpo (workspace)", ["grade", "dpo", "--path", str(ws), "--seed", "0"], 1.3))
        figures.append(ratio_figure(f"kata grade --reference ({len(names)} katas)", ["grade", "--reference", "--seed", "0"],
                                    2.5))

        # -------------------------------------------------------------- cohorts
        report = ["report", "--seed", "0"]
        one, unit1, note1 = timed(kata(*report, str(cohort[0])), heavy_runs, cwd=tmp, paired=True)
        many, unit20, note20 = timed(kata(*report, *map(str, cohort)), heavy_runs, cwd=tmp, paired=True)
        figures.append(Figure("kata report, 1 workspace", one, unit1, "", True, note1))
        figures.append(Figure(f"kata report, {COHORT} workspaces", many, unit20, "", True, note20))
        marginal, report_unit = (many - one) / (COHORT - 1), statistics.median([unit1, unit20])
        figures.append(Figure("report: each further workspace", marginal, report_unit, "<= 1 x",
                              marginal <= report_unit, note1 or note20))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"machine: {machine()}")
    print("load average (1, 5, 15 min) at the start: {:.2f} {:.2f} {:.2f}; at the end: {:.2f} {:.2f} {:.2f}".format(
        *load_at_start, *os.getloadavg()))
    print(f"unit: python -c \"import torch\" = {unit:.3f} s (median of {runs + 2} at the start); each grading "
          f"figure is divided by the median of torch imports timed alternately with its own runs")
    print(f"runs: {runs} per figure, {heavy_runs} per report figure\n")
    rows = [(f.name, f"{f.seconds:.3f}", f"{f.unit:.3f}", f"{f.seconds / f.unit:.2f}", f.target,
             ("OK" if f.ok else "over") if f.target else "", f.note) for f in figures]
    header = ("figure", "seconds", "torch import s", "ratio", "target", "", "note")
    if args.markdown:
        print("| " + " | ".join(header[:6]) + " |")
        print("|" + "|".join(["---", "---:", "---:", "---:", "---", "---"]) + "|")
        for r in rows:
            print("| " + " | ".join(r[:6]) + " |" + (f" {r[6]}" if r[6] else ""))
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for r in [header, *rows]:
        print("  ".join(c.ljust(w) if i in (0, 4, 5, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())


if __name__ == "__main__":
    main()
