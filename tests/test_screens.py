"""Every screen at 60 and 80 columns, piped, NO_COLOR=1: no cut cell, no formula or signature
broken across lines, and each mark means one thing.

The catalogue's screens run through the CLI (they never grade); reports, watch steps, the
cohort table and the experiment screen are rendered from result objects built here, so this
test needs no sandbox and covers every status and check kind at once.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from rich.console import Console

from grader import registry, render
from grader.catalog.common import DEVICE_HYGIENE
from grader.cli import main
from grader.core import workspace
from grader.core.results import CheckResult, KataResult, Report
from grader.practice.cohort import Cohort, Member
from grader.practice.watch import Step

WIDTHS = (60, 80)
LABEL_OF_MARK = {"✓": "PASS", "✗": "FAIL", "!": "ERROR", "·": "skip", "i": "advice"}
CHECK_ROW = re.compile(r"^([✓✗!·i]) +(\w+) +(PASS|FAIL|ERROR|skip|advice)\b")
FOLDED = re.compile(r"^([✓·]) \d+ (pass|skipped or not run):")
# 13 katas: the 7 of today and 6 of the policy-gradient track to come
THIRTEEN = registry.names() + ["kl_estimators", "gae", "reinforce", "ppo_clip", "grpo", "kto"]
PEOPLE = ["alice", "bob-the-candidate", "carol.smith", "d"]


def unbroken(out: str, width: int, blocks: list[str] = ()) -> None:
    """No ellipsis after a letter (a cut cell), no ANSI code, no line past `width` except the
    lines of `blocks` (formulas, signatures, code), each of which is printed whole."""
    assert "\x1b[" not in out
    assert not re.search(r"\w…", out), [line for line in out.splitlines() if re.search(r"\w…", line)]
    lines = [line.rstrip() for line in out.splitlines()]
    for block in blocks:
        assert block.rstrip() in lines, f"not printed whole on one line: {block!r}"
    long = [line for line in lines if len(line) > width and line not in {b.rstrip() for b in blocks}]
    assert long == [], long


def marks_mean_one_thing(out: str) -> int:
    """Every check row's mark is its status's; returns the number of rows seen."""
    rows = 0
    for line in out.splitlines():
        row = CHECK_ROW.match(line)
        if row:
            rows += 1
            assert LABEL_OF_MARK[row.group(1)] == row.group(3), line
        folded = FOLDED.match(line)
        if folded:
            assert (folded.group(1), folded.group(2)) in (("✓", "pass"), ("·", "skipped or not run")), line
    return rows


def help_text(width: int, *args: str) -> str:
    """--help as a terminal of `width` columns shows it (CliRunner fixes click's width at 80)."""
    env = dict(os.environ, COLUMNS=str(width), NO_COLOR="1", PYTHONPATH=str(workspace.PACKAGE_ROOT))
    proc = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, env=env,
                          timeout=60, cwd=workspace.PACKAGE_ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def cli(width: int, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1"},
                                prog_name="kata")
    assert result.exit_code in (0, 1), result.output
    return result.output


def piped(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None, highlight=False,
                   soft_wrap=False)


def text(con: Console) -> str:
    return con.file.getvalue()  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the catalogue, through the CLI
@pytest.mark.parametrize("width", WIDTHS)
def test_help_list_next_and_hint_outside_a_workspace(width, tmp_path):
    ws = tmp_path / "a-rather-long-workspace-name"
    workspace.init(ws)
    for args in (["--help"], *[[c, "--help"] for c in main.commands]):
        unbroken(help_text(width, *args), width)
    for args in (["list", "--path", str(ws)], ["next", "--path", str(ws)],
                 ["hint", "dpo", "--path", str(tmp_path / "nowhere")]):
        out = cli(width, *args)
        path_lines = [line for line in out.splitlines() if str(tmp_path) in line]  # tmp paths are long words
        unbroken(out, width, path_lines)
    listed = cli(width, "list", "--path", str(ws))
    for kata in registry.KATAS.values():  # one row each, name and status whole on it
        assert any(line.startswith(kata.name + " ") and "not started" in line for line in listed.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", registry.names())
def test_show_and_hints_never_reflow_formulas_signatures_or_code(width, name):
    kata = registry.get(name)
    formulas = [line for line in render.reflow(kata.statement).splitlines() if line[:1].isspace()]
    out = cli(width, "show", name)
    unbroken(out, width, formulas + kata.signature.splitlines())
    # Wrapped prose never starts a line with an operator ("beta\n> 0"): at column 0, or under a
    # list item's hanging indent of two (where "- " is a minus, not an item).
    starts = [line for line in out.splitlines() if re.match(r"( {2})?([<>=≤≥≠+·×/→*]|[<>=!]=|->|(?<= )-) ", line)]
    assert starts == [], starts
    hints = cli(width, "hint", name, "--all", "--path", "/nonexistent/ws")
    code = [f"    {s}" for h in kata.hints if render.is_code(h) for s in h.split("; ")]
    unbroken(hints, width, code)


# ------------------------------------------------------------------ reports, watch, cohort, experiment
def failing_kata() -> KataResult:
    series = {"pi_rejected_beta_0.1": [0.5 / (i + 1) for i in range(40)], "h_beta_0.1": [i / 8 for i in range(40)]}
    return KataResult("dpo", "fail", seconds=0.21, hints_used=2, output="\n".join(f"line {i}" for i in range(30)),
                      checks=[
                          CheckResult("signature", "pass", "dpo_loss(policy_chosen_logps, policy_rejected_logps, "
                                      "ref_chosen_logps, ref_rejected_logps, chosen_mask, rejected_mask, beta=0.1)"),
                          CheckResult("values", "fail", "case 'B=1, T=1' (seed 3): 'loss': expected 0.6435, got "
                                      "0.7458. This is the known mistake 'sign flipped': the loss is -log σ(β·h).",
                                      mistake="sign flipped"),
                          CheckResult("gradients", "error", "raised RuntimeError: boom at dpo.py:12 in dpo_loss: x"),
                          CheckResult("cuda_agreement", "skip", "CUDA is not available on this machine."),
                          CheckResult(DEVICE_HYGIENE.name, "fail", "torch.zeros(3) creates a tensor on the CPU "
                                      "whatever the inputs' device.", advisory=True),
                          CheckResult("behaviour", "fail", "π(y_l) stopped falling.", details=series),
                      ])


def every_status() -> list[KataResult]:
    return [failing_kata(),
            KataResult("ipo", "error", message="ipo.py:3: SyntaxError: invalid syntax\n    def ipo_loss("),
            KataResult("simpo", "timeout", message="did not finish within 10 s and was stopped.", seconds=10.0),
            KataResult("orpo", "not_started", message="orpo.py still raises NotImplementedError."),
            KataResult("get_probs", "pass", checks=[CheckResult("signature", "pass", "get_probs(logits, labels)"),
                                                   CheckResult("values", "pass", "all outputs match")])]


@pytest.mark.parametrize("width", WIDTHS)
def test_reports_and_watch_steps(width):
    rep = Report(every_status(), seed=16777215, workspace="katas", warnings=["a warning that is long " * 4])
    for verbose in (False, True):
        con = piped(width)
        render.report(con, rep, {"dpo": "katas/dpo.py"}, verbose=verbose)
        out = text(con)
        unbroken(out, width)
        assert marks_mean_one_thing(out) == 8  # `kata grade` lists every check: dpo's 6, get_probs' 2
        lines = out.splitlines()
        shown = [line.strip() for line in lines if re.fullmatch(r"\s*line \d+", line)]
        assert shown == [f"line {i}" for i in (range(30) if verbose else range(18, 30))]
        assert ("last 12 of 30 lines; --verbose shows all" in " ".join(out.split())) == (not verbose)
        first = " · ".join(line.strip() for line in lines[1:3])  # the verdict: right under the kata's name
        assert first.startswith("failing: values, gradients, behaviour · known mistake: 'sign flipped'"), lines[:3]
        assert re.match(rf"i +{DEVICE_HYGIENE.name} +advice ", [line for line in lines if line.startswith("i ")][0])
    con = piped(width)
    for step in (Step("grading", "dpo"), Step("cancelled", "dpo"), Step("graded", "dpo", Report([failing_kata()], 7)),
                 Step("next", "ipo"), Step("done", "ipo")):
        render.watch_step(con, step, {"dpo": "katas/dpo.py", "ipo": "katas/ipo.py"})
    out = text(con)
    unbroken(out, width)
    assert marks_mean_one_thing(out) == 4  # the compact report: the checks that did not pass
    assert "✓ 1 pass: signature" in out and "· 1 skipped or not run: cuda_agreement" in out
    assert "Every kata passes. Still watching" in " ".join(out.split())
    verbose = piped(width)
    render.watch_step(verbose, Step("graded", "dpo", Report([failing_kata()], 7)), verbose=True)
    assert marks_mean_one_thing(text(verbose)) == 6  # `kata watch --verbose`: every check, as `kata grade`
    footer = " ".join(" ".join(out.split("Ctrl-C")[0].split("→ next kata")[0].splitlines()[-4:]).replace(" · ", " ").split())
    assert footer.endswith("dpo FAIL failing: values, gradients, behaviour mistake 'sign flipped' seed 7"), footer


@pytest.mark.parametrize("width", WIDTHS)
def test_cohort_of_thirteen_katas(width):
    statuses = ["pass", "fail", "error", "timeout", "not_started"]
    members = []
    for p, person in enumerate(PEOPLE):
        katas = [KataResult(name, statuses[(p + i) % 5] if p else "pass",
                            checks=[CheckResult("values", "fail", "x")] if statuses[(p + i) % 5] == "fail" and p else [])
                 for i, name in enumerate(THIRTEEN)]
        members.append(Member(person, Report(katas, seed=3, workspace=f"/ws/{person}")))
    con = piped(width)
    render.cohort(con, Cohort(members, THIRTEEN, 3))
    out = text(con)
    unbroken(out, width)
    for person, m in zip(PEOPLE, members):  # each person's row starts with the whole name and their count
        row = next(line for line in out.splitlines() if line.startswith(person + " "))
        assert f"{m.report.passed}/{m.report.total}" in row
    words = set(re.findall(r"[\w.-]+", out))
    for m in members:
        for r in m.report.katas:
            if r.status != "pass":
                assert r.name in words  # every kata not passing is named, never cut


@pytest.mark.parametrize("width", WIDTHS)
def test_experiment_screen(width):
    from grader.practice.experiment import EXPERIMENTS, ExperimentResult, Finding, Run

    def series(lp: list[float], h: list[float]) -> dict[str, list[float]]:
        return {"logp_rejected": lp, "logp_chosen": [-1.0] * len(lp), "h_mean": h}

    runs = [Run("DPO", {"beta": 0.1}, series([-1.0 - i / 5 for i in range(50)], [i / 10 for i in range(50)])),
            Run("IPO", {"beta": 0.5}, series([-1.0 - i / 50 for i in range(50)], [1 - 0.9 ** i for i in range(50)])),
            Run("IPO", {"beta": 1.0}, error="ipo_loss raised ValueError: shapes")]
    res = ExperimentResult(EXPERIMENTS["dpo-vs-ipo"], "katas", 0, 50, runs,
                           findings=[Finding("DPO's π(y_l) is still falling", True),
                                     Finding("IPO's h stops at 1/(2β)", False)])
    con = piped(width)
    render.experiment(con, res)
    unbroken(text(con), width)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_long_known_mistake_wraps_under_its_margin(width):
    """The verdict's "known mistake" line, for the longest catalogued name: every line indented,
    the name whole once the lines are joined."""
    longest = max((m for k in registry.KATAS.values() for m in k.mistakes), key=lambda m: len(m.name))
    checks = [CheckResult(longest.check, "fail", "expected 1, got 2.", mistake=longest.name),
              CheckResult("behaviour", "fail", "it did not train.")]
    con = piped(width)
    render.report(con, Report([KataResult("bt", "fail", checks=checks)], seed=5), {"bt": "katas/bt.py"})
    out = text(con)
    unbroken(out, width)
    lines = out.splitlines()
    verdict = lines[1:lines.index(next(line for line in lines if CHECK_ROW.match(line)))]
    assert all(line.startswith(" ") for line in verdict), verdict
    assert f"known mistake: '{longest.name}'" in " ".join(" ".join(verdict).split())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("verbose", (False, True))
def test_long_verdicts_and_tracebacks_wrap_under_their_indent(width, verbose):
    """Eight failing checks and a traceback with long frames: every line of the verdict and of the
    traceback block starts indented; none falls back to the left edge, none is cut."""
    names = ["output_types", "values", "stability", "gradients", "rewards_detached", "keeps_graph",
             "row_independence", "behaviour"]
    frames = ["grader/checks/probe.py:158 in run_case: raw = call(fn, case, inputs, options)",
              "dpo.py:44 in dpo_loss: loss = -helper(beta * h).mean()",
              "torch/nn/functional.py:3555 in cross_entropy: return torch._C._nn.cross_entropy_loss(input, target)"]
    checks = [CheckResult(n, "error", "raised RuntimeError: no at dpo.py:7", traceback=frames) for n in names]
    rep = Report([KataResult("dpo", "fail", checks=checks, traceback=[])], seed=5)
    con = piped(width)
    render.report(con, rep, {"dpo": "katas/dpo.py"}, verbose=verbose)
    out = text(con)
    unbroken(out, width)
    lines = out.splitlines()
    verdict = lines[1:lines.index(next(line for line in lines if CHECK_ROW.match(line)))]
    assert " ".join(" ".join(verdict).split()) == "failing: " + ", ".join(names)
    assert len(verdict) > 1 and all(line.startswith(" ") for line in verdict), verdict
    block = lines[next(i for i, line in enumerate(lines) if "traceback" in line):]
    block = block[:next(i for i, line in enumerate(block) if not line.strip())]
    assert all(line.startswith("  ") for line in block), block
    if verbose:
        assert " ".join(" ".join(block).split()).startswith(f"traceback ({', '.join(names)}), innermost last:")
        assert sum(line.startswith(" " * (2 if width < 80 else 4) + "torch/") for line in block) == 1  # shown once
    else:
        assert "torch/" not in out and "grader/checks" not in out


@pytest.mark.parametrize("width", WIDTHS)
def test_a_kata_message_wraps_under_its_margin(width):
    """A not-started or error message longer than a line never falls back to the left edge; an
    error's code line keeps its own indent."""
    message = ("advantages.py:3: RuntimeError: shape '[3]' is invalid for input of size 2, and a few more words "
               "to pass any width\n    return torch.zeros(2).view(3)")
    con = piped(width)
    render.report(con, Report([KataResult("advantages", "error", message=message)], seed=5))
    out = text(con)
    unbroken(out, width)
    lines = out.splitlines()
    said = lines[1:lines.index("")]
    assert len(said) >= 3 and all(line.startswith(" ") for line in said), said
    assert said[-1].strip() == "return torch.zeros(2).view(3)" and said[-1].startswith(" " * 5)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_submissions_long_output_lines_wrap_under_their_margin(width):
    """A printed line longer than the screen goes on under the output's margin, two columns
    further in, and loses nothing; a tab is spaces."""
    long = "step 12: " + "x" * 130 + " done"
    printed = f"first line\n{long}\n\tafter a tab"
    con = piped(width)
    render.report(con, Report([KataResult("dpo", "error", message="it failed.", output=printed)], seed=5))
    out = text(con)
    unbroken(out, width)
    lines = out.splitlines()
    block = lines[lines.index("  output of the submission:") + 1:]
    block = block[:block.index("")] if "" in block else block
    pad = " " * (2 if width < 80 else 4)
    assert block[0] == pad + "first line" and block[-1] == pad + "    after a tab", block
    middle = block[1:-1]
    assert len(middle) >= 2 and middle[0].startswith(pad + "step 12: x"), middle
    assert all(line.startswith(pad + "  ") and line[len(pad) + 2] != " " for line in middle[1:]), middle
    assert middle[0][len(pad):] + "".join(line[len(pad) + 2:] for line in middle[1:]) == long
