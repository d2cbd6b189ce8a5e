"""The CLI through click's CliRunner: exact exit codes, JSON fields and messages."""
from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from grader import registry
from grader.core import workspace
from grader.cli import main
from tests.borrowed import lend
from tests.conftest import solution_source


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def stubs(tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    return ws


def grade_json(runner, *args):
    result = runner.invoke(main, ["grade", "--json", "--seed", "3", *args])
    doc = json.loads(result.stdout)  # stdout holds one JSON document and nothing else
    return result.exit_code, doc


def test_reference_passes_every_kata(runner):
    code, doc = grade_json(runner, "--reference")
    assert code == 0
    assert doc["passed"] == doc["total"] == len(registry.KATAS)
    assert [k["name"] for k in doc["katas"]] == registry.names()
    assert all(k["status"] == "pass" for k in doc["katas"])
    assert doc["seed"] == 3


def test_fresh_stubs_are_not_started_and_exit_1(runner, stubs):
    code, doc = grade_json(runner, "--path", str(stubs))
    assert code == 1
    assert doc["passed"] == 0 and doc["total"] == len(registry.KATAS)
    for k in doc["katas"]:
        assert k["status"] == "not_started"
        assert k["checks"] == []
        assert "still raises NotImplementedError" in k["message"]


def test_json_shape_is_the_stable_interface(runner, stubs):
    (stubs / "dpo.py").write_text(solution_source("dpo"))
    code, doc = grade_json(runner, "dpo", "get_probs", "--path", str(stubs))
    assert code == 1  # get_probs is still a stub
    assert set(doc) >= {"katas", "passed", "total"}
    assert (doc["passed"], doc["total"]) == (1, 2)
    dpo, get_probs = doc["katas"]
    assert (dpo["name"], dpo["status"]) == ("dpo", "pass")
    assert (get_probs["name"], get_probs["status"]) == ("get_probs", "not_started")
    assert [c["name"] for c in dpo["checks"]] == list(registry.get("dpo").check_names)
    for c in dpo["checks"]:
        assert set(c) >= {"name", "status", "message"}
        assert c["status"] in ("pass", "fail", "skip", "error")
    cuda = next(c for c in dpo["checks"] if c["name"] == "cuda_agreement")
    assert cuda["status"] == "skip" and cuda["message"]


def test_all_pass_exits_0(runner, stubs):
    (stubs / "dpo.py").write_text(solution_source("dpo"))
    code, doc = grade_json(runner, "dpo", "--path", str(stubs))
    assert code == 0 and doc["passed"] == 1


def test_failing_kata_names_check_and_mistake(runner, stubs):
    wrong = solution_source("dpo").replace("-F.logsigmoid(beta * h)", "-F.logsigmoid(-beta * h)")
    (stubs / "dpo.py").write_text(wrong)
    code, doc = grade_json(runner, "dpo", "--path", str(stubs))
    assert code == 1
    values = next(c for c in doc["katas"][0]["checks"] if c["name"] == "values")
    assert values["status"] == "fail"
    assert values["mistake"] == "sign flipped"
    assert "expected" in values["message"] and "got" in values["message"]


def test_a_kata_named_twice_is_graded_once(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    code, doc = grade_json(runner, "dpo", "dpo", "--path", str(stubs))
    assert code == 1
    assert [(k["name"], k["status"]) for k in doc["katas"]] == [("dpo", "not_started")]


def test_unknown_kata_is_a_usage_error(runner):
    result = runner.invoke(main, ["grade", "dpoo", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown kata 'dpoo'. Did you mean 'dpo'?" in result.stderr


def test_missing_workspace_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["grade", "--json", "--path", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no workspace at" in result.stderr and "kata init" in result.stderr


def test_syntax_error_names_file_and_line(runner, stubs):
    (stubs / "dpo.py").write_text("def dpo_loss(:\n    pass\n")
    code, doc = grade_json(runner, "dpo", "--path", str(stubs))
    assert code == 1
    k = doc["katas"][0]
    assert k["status"] == "error"
    assert k["message"].startswith(f"{stubs / 'dpo.py'}:1: SyntaxError")


def test_missing_module_is_an_error_with_line(runner, stubs):
    (stubs / "get_probs.py").write_text("import torch\nimport no_such_module_here\n\ndef get_probs(l, y):\n    return l\n")
    code, doc = grade_json(runner, "get_probs", "--path", str(stubs))
    k = doc["katas"][0]
    assert (code, k["status"]) == (1, "error")
    assert k["message"] == "get_probs.py:2: ModuleNotFoundError: No module named 'no_such_module_here'\n    import no_such_module_here"


def test_seed_reproduces_a_run(runner, stubs):
    wrong = solution_source("dpo").replace("(beta * chosen_logratio).detach()", "beta * chosen_logratio")
    (stubs / "dpo.py").write_text(wrong)
    _, first = grade_json(runner, "dpo", "--path", str(stubs))
    _, second = grade_json(runner, "dpo", "--path", str(stubs))
    strip = lambda d: [(c["name"], c["status"], c["message"]) for c in d["katas"][0]["checks"]]
    assert strip(first) == strip(second)
    detached = next(c for c in first["katas"][0]["checks"] if c["name"] == "rewards_detached")
    assert (detached["status"], detached["mistake"]) == ("fail", "rewards not detached")


def test_plain_output_has_no_colour_and_a_summary(runner, stubs):
    result = runner.invoke(main, ["grade", "dpo", "--seed", "5", "--path", str(stubs)], env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout
    assert "dpo  NOT STARTED" in result.stdout
    assert result.stdout.splitlines()[-2:] == ["0 / 1 katas pass  ·  not passing: dpo (not started)",
                                               "seed 5 (reproduce with --seed 5)"]  # too long for one line at 80


def test_device_cuda_without_cuda_is_a_usage_error(runner, stubs):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    result = runner.invoke(main, ["grade", "dpo", "--device", "cuda", "--path", str(stubs)])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.stderr


def test_show_lists_statement_signature_and_checks(runner):
    result = runner.invoke(main, ["show", "dpo"])
    assert result.exit_code == 0
    assert "Masked DPO loss" in result.stdout
    assert "def dpo_loss(" in result.stdout
    for name in registry.get("dpo").check_names:
        assert f"{name}:" in result.stdout


def test_show_unknown_kata(runner):
    result = runner.invoke(main, ["show", "simp"])
    assert result.exit_code == 2
    assert "unknown kata 'simp'" in result.stderr


def test_help_describes_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "hint", "grade", "init", "reset"):
        assert command in result.stdout
    grade_help = runner.invoke(main, ["grade", "--help"]).stdout
    for option in ("--path", "--reference", "--json", "--seed", "--timeout", "--device"):
        assert option in grade_help


@pytest.mark.parametrize("seed", [11, 12345, 9_999_999])
def test_reference_passes_at_other_seeds(sandbox, seed):
    """The default seed is random: the reference must pass whatever it is."""
    from grader.core import engine

    report = engine.grade(registry.names(), None, engine.Options(seed=seed), reference=True, sandbox=sandbox)
    assert [(k.name, k.status) for k in report.katas] == [(n, "pass") for n in registry.names()], \
        [(k.name, [(c.name, c.message) for c in k.failed_checks]) for k in report.katas if k.status != "pass"]


def test_statements_reflow_prose_and_keep_formulas():
    from grader.render import reflow

    text = "One paragraph\nwrapped by hand.\n\n    loss = x\n    h = y\n\nNotes:\n- first item\n  continued\n- second"
    assert reflow(text) == ("One paragraph wrapped by hand.\n\n    loss = x\n    h = y\n\n"
                            "Notes:\n- first item continued\n- second")


def test_engine_grades_a_kata_named_twice_once(sandbox):
    """The API and the cohort path reach the engine without the CLI's argument handling."""
    from grader.core import engine

    report = engine.grade(["dpo", "dpo"], None, engine.Options(seed=1), reference=True, sandbox=sandbox)
    assert [(k.name, k.status) for k in report.katas] == [("dpo", "pass")]


# ------------------------------------------------------------------ advice runnable as printed
def test_advice_names_the_workspace_it_applies_to(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    (stubs / "dpo.py").unlink()
    _, doc = grade_json(runner, "dpo", "--path", str(stubs))
    assert doc["katas"][0]["message"] == \
        f"{stubs / 'dpo.py'} does not exist. `kata reset dpo --path {stubs}` writes a fresh stub."


def test_grade_and_list_from_inside_a_workspace_find_it(runner, stubs, sandbox, monkeypatch, tmp_path):
    lend(monkeypatch, sandbox)
    monkeypatch.chdir(stubs)  # no ./katas here: the current folder is the workspace
    result = runner.invoke(main, ["grade", "dpo", "--json", "--seed", "3"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["katas"][0]["status"] == "not_started"
    assert "not started" in runner.invoke(main, ["list"], env={"COLUMNS": "200"}).stdout
    monkeypatch.chdir(tmp_path)  # not a workspace, and no ./katas: the advice creates ./katas
    result = runner.invoke(main, ["grade", "dpo"])
    assert result.exit_code == 2 and "Create one with `kata init katas`" in result.stderr


@pytest.mark.parametrize("given, command", [("katas/dpo.py", "kata grade dpo"), ("DPO", "kata grade dpo"),
                                            ("ws2/dpo.py", "kata grade dpo --path ws2")])
def test_a_kata_named_by_its_file_or_in_capitals_gets_a_runnable_suggestion(runner, given, command):
    result = runner.invoke(main, ["grade", given], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert f"unknown kata '{given}'. A kata is named by its name alone, in lower case: `{command}`." in \
        " ".join(result.stderr.split())


# ------------------------------------------------------------------ a failed signature stops the rest
NO_BETA = """import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, chosen_mask,
             rejected_mask):
    seq = lambda lp, m: (lp * m.to(lp.dtype)).sum(-1)
    chosen = seq(policy_chosen_logps, chosen_mask) - seq(ref_chosen_logps, chosen_mask)
    rejected = seq(policy_rejected_logps, rejected_mask) - seq(ref_rejected_logps, rejected_mask)
    return -F.logsigmoid(0.1 * (chosen - rejected)).mean(), (0.1 * chosen).detach(), (0.1 * rejected).detach()
"""


def test_a_wrong_signature_stops_the_remaining_checks_and_shows_no_grader_frames(runner, stubs, sandbox,
                                                                                 monkeypatch):
    lend(monkeypatch, sandbox)
    (stubs / "dpo.py").write_text(NO_BETA)
    _, doc = grade_json(runner, "dpo", "--path", str(stubs))
    checks = doc["katas"][0]["checks"]
    assert (checks[0]["name"], checks[0]["status"]) == ("signature", "fail")
    assert [(c["status"], c["message"]) for c in checks[1:]] == \
        [("skip", "not run: the signature check failed.")] * (len(registry.get("dpo").checks) - 1)
    assert doc["katas"][0]["status"] == "fail"
    every = json.dumps(doc)
    assert "worker.py" not in every and "/torch/" not in every


def test_unexplained_failures_are_sentences_before_the_next_step(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    said = []
    # an offset (values), and a loss per row instead of its mean (output_types, whose message ends in ")")
    for wrong in (".mean() + 0.125", ""):
        (stubs / "dpo.py").write_text(solution_source("dpo").replace("-F.logsigmoid(beta * h).mean()",
                                                                     "-F.logsigmoid(beta * h)" + wrong))
        _, doc = grade_json(runner, "dpo", "--path", str(stubs))
        said += [c["message"] for c in doc["katas"][0]["checks"] if "Not one of the catalogued" in c["message"]]
    assert len(said) >= 2, said
    assert all(". Not one of the catalogued mistakes" in m for m in said), said


# ------------------------------------------------------------------ version, help, completion, next, options
def test_version_on_the_command_line_and_in_the_json(runner, stubs, sandbox, monkeypatch):
    import grader

    result = runner.invoke(main, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"kata {grader.__version__}\n")
    lend(monkeypatch, sandbox)
    (stubs / "get_probs.py").write_text(solution_source("get_probs"))
    _, doc = grade_json(runner, "get_probs", "--path", str(stubs))
    assert doc["grader_version"] == grader.__version__
    checks = doc["katas"][0]["checks"]  # each check's judging time, in seconds
    assert all(isinstance(c["seconds"], float) and c["seconds"] >= 0 for c in checks)
    assert sum(c["seconds"] for c in checks) > 0


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_help_has_examples_of_itself(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    examples = [line.strip() for line in result.stdout.split("Examples:\n", 1)[1].splitlines() if line.strip()]
    assert examples and all(line.startswith(f"kata {command}") for line in examples), result.stdout


def complete(runner, words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = runner.invoke(main, [], prog_name="kata", env={"_KATA_COMPLETE": "bash_complete", "COMP_WORDS": words,
                                                            "COMP_CWORD": str(cword)})
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_shell_completion_of_commands_and_kata_names(runner):
    assert complete(runner, "kata gr") == ["grade"]
    assert complete(runner, "kata n") == ["next"]
    assert complete(runner, "kata grade s") == ["sequence_logps", "simpo"]
    assert complete(runner, "kata show ") == registry.names()
    assert complete(runner, "kata report --kata o") == ["orpo"]
    script = runner.invoke(main, [], prog_name="kata", env={"_KATA_COMPLETE": "bash_source"}).stdout
    assert "_KATA_COMPLETE=bash_complete" in script  # what `eval "$(_KATA_COMPLETE=bash_source kata)"` installs


@pytest.mark.parametrize("command", ["grade", "watch", "report"])
def test_every_grading_command_takes_the_same_sandbox_options(command):
    params = {p.name for p in main.commands[command].params}
    assert {"seed", "timeout", "device", "memory_mb"} <= params


def test_report_hands_device_and_memory_to_the_engine(runner, tmp_path, monkeypatch):
    from grader.core import engine
    from grader.core.results import Report

    seen = {}

    def grade_many(names, dirs, options, sandbox=None):
        seen["options"] = options
        return [Report([], options.seed) for _ in dirs]

    monkeypatch.setattr(engine, "grade_many", grade_many)
    monkeypatch.setattr("grader.sandbox.pool.Sandbox.start", classmethod(lambda cls: __import__("contextlib")
                                                                         .nullcontext()))
    (tmp_path / "alice").mkdir()
    result = runner.invoke(main, ["report", str(tmp_path / "alice"), "--device", "cpu", "--memory-mb", "512"])
    assert result.exit_code == 0, result.output
    assert (seen["options"].device, seen["options"].limits.memory_mb) == ("cpu", 512)


def test_next_states_the_first_kata_not_passed(runner, stubs):
    from grader.core.state import State

    first, second = registry.names()[:2]
    state = State.load(stubs)
    state.record_grade(first, "pass", 9, 9)
    state.save()
    out = runner.invoke(main, ["next", "--path", str(stubs)], env={"COLUMNS": "2000"}).stdout
    kata = registry.get(second)
    assert out.splitlines()[0] == f"Next: {second} ({kata.track} track). Edit {stubs / kata.filename}, then " \
                                  f"`kata grade {second} --path {stubs}`."
    assert f"{second}: {kata.title}" in out.splitlines()
    for name in registry.names():
        state.record_grade(name, "pass", 9, 9)
    state.save()
    assert runner.invoke(main, ["next", "--path", str(stubs)]).stdout == "Every kata passes in this workspace.\n"


# ------------------------------------------------------------------ stale and silent state
def test_list_rechecks_the_file_against_the_graded_content(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    (stubs / "get_probs.py").write_text(solution_source("get_probs"))
    assert runner.invoke(main, ["grade", "get_probs", "--path", str(stubs)]).exit_code == 0

    def status() -> str:
        out = runner.invoke(main, ["list", "--path", str(stubs)], env={"COLUMNS": "300"}).stdout
        row = next(line for line in out.splitlines() if line.startswith("get_probs "))
        return row.split("  ")[1:] and [c for c in row.split("  ") if c.strip()][1].strip()

    assert status() == "pass"
    (stubs / "get_probs.py").write_text(solution_source("get_probs").replace("gather(", "gather(  "))
    assert status() == "edited after pass"  # a different file: the last grade says nothing about it
    assert runner.invoke(main, ["grade", "get_probs", "--path", str(stubs)]).exit_code == 0
    assert status() == "pass"


def test_hint_outside_a_workspace_says_nothing_is_recorded(runner, tmp_path):
    nowhere = tmp_path / "nowhere"
    for _ in range(2):
        out = " ".join(runner.invoke(main, ["hint", "dpo", "--path", str(nowhere)]).stdout.split())
        assert out.startswith("Hint 1/3 (concept): ") and "Hint 2/3" not in out
        assert out.endswith(f"No workspace at '{nowhere}', so nothing is recorded and every call shows hint 1; "
                            "`kata hint dpo --all` shows every level, and --path DIR records them in a workspace.")
        assert "again for the next level" not in out
    assert not nowhere.exists()


def test_reset_of_an_untouched_stub_writes_no_backup(runner, stubs):
    result = runner.invoke(main, ["reset", "dpo", "--path", str(stubs)], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert result.stdout == f"{stubs / 'dpo.py'} is already the fresh stub: nothing to restore, no backup written.\n"
    assert list(stubs.glob("*kata-backup*")) == []
    (stubs / "dpo.py").write_text("# mine\n")
    assert runner.invoke(main, ["reset", "dpo", "--path", str(stubs)]).exit_code == 0
    assert len(list(stubs.glob("dpo.py.kata-backup-*"))) == 1  # real work is still saved first


def test_an_error_with_no_frame_of_the_submission_names_no_grader_or_torch_line(tmp_path):
    """A traceback is trimmed to the submission's frames: with none, no `worker.py:101 in guarded`."""
    from grader.checks.function import describe_error

    fake = {}
    exec(compile("def run(f):\n    try:\n        f()\n    except Exception as exc:\n        return exc\n",
                 str(tmp_path / "site-packages" / "grader" / "sandbox" / "worker.py"), "exec"), fake)
    exec(compile("def deep():\n    raise RuntimeError('inside torch')\n",
                 str(tmp_path / "site-packages" / "torch" / "graph.py"), "exec"), fake)
    said = describe_error(fake["run"](fake["deep"]))
    assert (said["type"], said["message"], said["where"]) == ("RuntimeError", "inside torch", "")
    mine = tmp_path / "ws" / "dpo.py"
    mine.parent.mkdir()
    mine.write_text("def mine():\n    return 1 / 0\n")  # on disk, as a submission is: its line can be shown
    exec(compile(mine.read_text(), str(mine), "exec"), fake)
    assert describe_error(fake["run"](fake["mine"]))["where"] == "dpo.py:2 in mine: return 1 / 0"


START_UP = """
import sys
from grader.cli import main
try:
    main(["grade", "dpo", "--path", sys.argv[1], "--json", "--seed", "3"], prog_name="kata")
except SystemExit as exc:
    code = exc.code
sys.stderr.write("modules: " + " ".join(m for m in ("grader.practice.watch", "grader.core.progress") if m in sys.modules))
sys.exit(code)
"""


@pytest.mark.own_sandbox
def test_kata_grade_starts_for_real_in_a_fresh_interpreter(tmp_path):
    """The real start-up path, not the lent sandbox: a fresh interpreter starts its own zygote and
    grades; `kata grade` records progress without importing the watch loop."""
    import subprocess
    import sys

    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    proc = subprocess.run([sys.executable, "-c", START_UP, str(ws)], capture_output=True, text=True,
                          cwd=workspace.PACKAGE_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(k["name"], k["status"]) for k in doc["katas"]] == [("dpo", "pass")] and doc["seed"] == 3
    assert proc.stderr.endswith("modules: grader.core.progress")  # progress recorded without the watch loop
    assert json.loads((ws / ".kata" / "state.json").read_text())["katas"]["dpo"]["status"] == "pass"


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (the zygote inherits the command's)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.own_sandbox
def test_the_kata_command_starts_the_zygote_first_and_ends_one_no_command_took(tmp_path):
    """`python -m grader grade` (the console script's path) starts the zygote before the CLI is
    imported, and the grading command takes that one; a command that stops at a usage error
    ends it, and nothing is left running."""
    import subprocess
    import sys
    import uuid

    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    marker = f"KATA_TEST_MARK={uuid.uuid4().hex}"
    env = dict(os.environ, KATA_TEST_MARK=marker.split("=")[1])
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "dpo", "ipo", "--path", str(ws), "--json",
                           "--seed", "3"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    katas = json.loads(done.stdout)["katas"]
    assert [(k["name"], k["status"]) for k in katas] == [("dpo", "pass"), ("ipo", "not_started")]
    # The stub's child exits while the grader computes the reference runs, before it reads the
    # child's events: its time is the zygote's clock, not a negative difference (-0.0).
    assert all(0 < k["seconds"] < 60 for k in katas), katas
    refused = subprocess.run([sys.executable, "-m", "grader", "grade", "no_such_kata", "--path", str(ws)],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert refused.returncode == 2 and "no_such_kata" in refused.stderr, refused.stderr
    assert _processes_with(marker) == []


@pytest.mark.parametrize("argv, early", [
    (["grade", "dpo"], True), (["report", "a", "b"], True), (["watch"], True), (["experiment", "dpo-vs-ipo"], True),
    (["grade", "--help"], False), (["report", "--from-json", "a.json"], False), (["list"], False),
    (["show", "dpo"], False), ([], False), (["--help"], False)])
def test_only_a_command_that_grades_starts_the_zygote_first(monkeypatch, argv, early):
    import sys

    import grader.__main__ as entry
    import grader.cli
    from grader.sandbox import pool

    started: list[bool] = []
    monkeypatch.setattr(pool, "start_early", lambda: started.append(True))
    monkeypatch.setattr(grader.cli, "run", lambda: None)
    monkeypatch.setattr(sys, "argv", ["kata", *argv])
    entry.main()
    assert started == ([True] if early else [])


@pytest.mark.own_sandbox
def test_sandbox_start_takes_the_zygote_started_early():
    from grader.sandbox import pool

    pool.start_early()
    early = pool._early
    sandbox = pool.Sandbox.start()
    try:
        assert early is not None and sandbox.proc is early and pool._early is None
    finally:
        sandbox.close()
    pool.start_early()
    untaken = pool._early
    pool.discard_early()
    assert untaken is not None and untaken.poll() is not None and pool._early is None


def test_grade_records_progress_without_the_watch_loop():
    import ast

    tree = ast.parse((workspace.PACKAGE_ROOT / "grader" / "commands" / "grade.py").read_text())
    grade = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "grade")
    imported = {node.module for node in ast.walk(grade) if isinstance(node, ast.ImportFrom)}
    assert "grader.core.progress" in imported and "grader.practice.watch" not in imported


# ------------------------------------------------------------------ --verbose: every frame of a traceback
def _raising_inside_torch() -> str:
    """The reference dpo with its last step through a helper that makes torch raise."""
    source = solution_source("dpo")
    assert "    loss = -F.logsigmoid(beta * h).mean()" in source
    source = source.replace("    loss = -F.logsigmoid(beta * h).mean()", "    loss = -helper(beta * h).mean()")
    return source.replace("def dpo_loss(", "def helper(x):\n    return F.cross_entropy(x, x.long())\n\n\n"
                          "def dpo_loss(", 1)


def test_verbose_shows_the_grader_and_torch_frames_that_the_report_hides(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    (stubs / "dpo.py").write_text(_raising_inside_torch())
    _, doc = grade_json(runner, "dpo", "--path", str(stubs))
    values = next(c for c in doc["katas"][0]["checks"] if c["name"] == "values")
    assert values["status"] == "error"
    assert "at dpo.py:" in values["message"] and "in helper: return F.cross_entropy(x, x.long())" in values["message"]
    frames = values["traceback"]
    assert [f.split(":")[0] for f in frames[:2]] == ["grader/checks/runs.py"] * 2  # outermost first
    assert any(f.startswith("dpo.py:") and " in dpo_loss: loss = -helper(beta * h).mean()" in f for f in frames)
    assert frames[-1].startswith("torch/nn/functional.py:") and " in cross_entropy: " in frames[-1]
    plain = runner.invoke(main, ["grade", "dpo", "--path", str(stubs), "--seed", "3"], env={"COLUMNS": "80"})
    verbose = runner.invoke(main, ["grade", "dpo", "--path", str(stubs), "--seed", "3", "--verbose"],
                            env={"COLUMNS": "80"})
    assert plain.exit_code == verbose.exit_code == 1
    for out in (plain.output, verbose.output):
        assert max(len(line) for line in out.splitlines()) <= 80
    assert "torch/nn/functional.py" not in plain.output and "grader/checks/runs.py" not in plain.output
    assert "--verbose shows every frame of the traceback, the grader's and torch's too." in plain.output
    assert "--verbose shows every frame" not in verbose.output
    # one error reported by several checks is shown once, under their names
    assert verbose.output.count("torch/nn/functional.py:") == 2  # the cases', and the behaviour run's
    assert "  traceback (output_types, values, " in verbose.output
    assert "    grader/checks/runs.py:" in verbose.output and "    torch/nn/functional.py:" in verbose.output


def test_an_error_at_import_keeps_its_frames_for_verbose(runner, stubs, sandbox, monkeypatch):
    lend(monkeypatch, sandbox)
    (stubs / "ipo.py").write_text("import torch\n\n\ndef f():\n    return torch.zeros(2).view(3)\n\n\nf()\n")
    code, doc = grade_json(runner, "ipo", "--path", str(stubs))
    kata = doc["katas"][0]
    assert (code, kata["status"]) == (1, "error")
    assert kata["message"].startswith("ipo.py:5: RuntimeError: shape '[3]' is invalid for input of size 2")
    assert kata["traceback"][-2:] == ["ipo.py:8 in <module>: f()", "ipo.py:5 in f: return torch.zeros(2).view(3)"]
    verbose = runner.invoke(main, ["grade", "ipo", "--path", str(stubs), "--verbose"], env={"COLUMNS": "60"})
    assert "  traceback, innermost last:" in verbose.output and "ipo.py:8 in <module>: f()" in verbose.output


def test_frames_from_the_child_are_read_as_bounded_strings():
    from grader.core.frames import MAX_FRAMES, MAX_LINE, frames_of

    assert frames_of({"traceback": "not a list"}) == [] and frames_of(None) == [] and frames_of([1]) == []
    assert frames_of({"traceback": ["a.py:1 in f", 3, None, {"x": 1}]}) == ["a.py:1 in f"]
    many = frames_of({"traceback": ["x" * 10_000] * 1000})
    assert len(many) == MAX_FRAMES and {len(f) for f in many} == {MAX_LINE}
    # a JSON document read back (kata report --from-json) is bounded the same way
    from grader.core.results import KataResult

    doc = {"name": "dpo", "status": "error", "traceback": ["y" * 10_000] * 1000,
           "checks": [{"name": "values", "status": "error", "traceback": "not a list"}]}
    kata = KataResult.from_dict(doc)
    assert len(kata.traceback) == MAX_FRAMES and kata.checks[0].traceback == []
