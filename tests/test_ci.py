"""Grading in people's own CI: `kata ci` workflows (linted with actionlint and the CI systems'
JSON schemas), `kata grade --junit/--summary`, and `kata report --from-json` over the JSON those
jobs publish, which must give the table and files `kata report` gives over the workspaces.

Kata names are pinned to get_probs and dpo so that katas added later do not change these tests.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import __version__
from grader.cli import main
from grader.core import workspace
from grader.core.results import CheckResult, KataResult, Report
from grader.practice import ci, export
from grader.practice.cohort import Cohort, Member
from tests.conftest import MISTAKES, solution_source, unwrapped

KATAS = ["get_probs", "dpo"]
SEED = 7
ACTIONLINT = shutil.which("actionlint")
CHECK_JSONSCHEMA = shutil.which("check-jsonschema")


@pytest.fixture
def runner():
    return CliRunner()


def write_workflow(runner, repo: Path, *args: str) -> Path:
    result = runner.invoke(main, ["ci", *args, "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().splitlines()[-1].removeprefix("wrote "))


SETUPS = {
    "github-gate": ("github", "--kata", "dpo", "--kata", "ipo", "--seed", "3"),
    "github-progress": ("github", "--mode", "progress", "--path", "course work/katas"),
    "classroom": ("github", "--classroom", "--kata", "get_probs", "--kata", "dpo", "--points", "5"),
    "gitlab-gate": ("gitlab", "--kata", "dpo"),
    "gitlab-progress": ("gitlab", "--mode", "progress", "--path", "it's/katas"),
}


# ------------------------------------------------------------------ generated workflows
@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (the dev extra installs it on Linux x86-64)")
@pytest.mark.parametrize("setup", [s for s in SETUPS if not s.startswith("gitlab")])
def test_github_workflows_pass_actionlint(runner, tmp_path, setup):
    path = write_workflow(runner, tmp_path, *SETUPS[setup])
    lint = subprocess.run([ACTIONLINT, "-no-color", str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.skipif(CHECK_JSONSCHEMA is None, reason="check-jsonschema is not installed (the dev extra installs it)")
@pytest.mark.parametrize("setup", list(SETUPS))
def test_workflows_match_the_ci_systems_schemas(runner, tmp_path, setup):
    path = write_workflow(runner, tmp_path, *SETUPS[setup])
    schema = "vendor.gitlab-ci" if setup.startswith("gitlab") else "vendor.github-workflows"
    check = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", schema, str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_workflow_files_land_where_the_ci_systems_read_them(runner, tmp_path):
    assert write_workflow(runner, tmp_path, "github") == tmp_path / ".github/workflows/kata.yml"
    assert write_workflow(runner, tmp_path, "github", "--classroom") == tmp_path / ".github/workflows/classroom.yml"
    assert write_workflow(runner, tmp_path, "gitlab") == tmp_path / ".gitlab-ci.yml"


def test_github_workflow_installs_this_version_with_cpu_torch_and_publishes_everything():
    text = ci.github_workflow(ci.Setup(("dpo",), "katas", "gate", 3))
    assert f"python -m pip install dpo-kata=={__version__}" in text
    assert f"python -m pip install torch --index-url {ci.TORCH_CPU_INDEX}" in text
    assert ('run: "kata grade dpo --path katas --seed 3 --json --junit kata-junit.xml --summary kata-summary.md'
            ' > kata-results.json"') in text
    assert '>> \\"$GITHUB_STEP_SUMMARY\\"' in text
    for name in ("kata-results.json", "kata-junit.xml", "kata-summary.md"):
        assert f"            {name}\n" in text
    assert text.count("if: always()") == 2  # the summary and the artifacts also after a failing grade


def test_gitlab_job_reports_junit_and_keeps_the_json():
    text = ci.gitlab_ci(ci.Setup())
    assert "    reports:\n      junit: kata-junit.xml\n" in text
    assert "    when: always\n" in text
    assert '    - "kata grade --path katas --json --junit kata-junit.xml --summary kata-summary.md > kata-results.json"' \
        in text


def test_classroom_has_one_test_per_kata_with_its_points_and_installs_once():
    text = ci.classroom_workflow(ci.Setup(("get_probs", "dpo"), points=5), ["get_probs", "dpo", "ipo"])
    assert text.count("uses: classroom-resources/autograding-command-grader@v1") == 2
    assert 'command: "kata grade get_probs --path katas"' in text and 'command: "kata grade dpo --path katas"' in text
    assert text.count("max-score: 5") == 2
    assert text.count("pip install dpo-kata") == 1  # the first test's setup serves them all
    assert 'KATA-DPO_RESULTS: "${{steps.kata-dpo.outputs.result}}"' in text
    assert "runners: kata-get-probs,kata-dpo" in text
    every = ci.classroom_workflow(ci.Setup(), ["get_probs", "dpo", "ipo"])
    assert every.count("autograding-command-grader") == 3  # no --kata: every kata


def fake_kata(tmp_path: Path, code: int) -> dict[str, str]:
    """A `kata` on PATH that writes an empty report and exits with `code`."""
    bin_dir = tmp_path / f"bin{code}"
    bin_dir.mkdir()
    script = bin_dir / "kata"
    script.write_text(f"#!/bin/sh\necho '{{}}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("mode, code, job_fails", [
    ("gate", 0, False), ("gate", 1, True), ("gate", 3, True),
    ("progress", 0, False), ("progress", 1, False), ("progress", 2, True), ("progress", 3, True),
])
def test_mode_decides_which_exit_codes_fail_the_job(tmp_path, mode, code, job_fails):
    """progress mode tolerates katas that do not pass yet (exit 1), never a grader that could not run."""
    line = ci._graded(ci.Setup(mode=mode))
    done = subprocess.run(["sh", "-c", line], cwd=tmp_path, env=fake_kata(tmp_path, code))
    assert (done.returncode != 0) == job_fails


def test_values_are_quoted_for_yaml_and_for_the_shell(tmp_path):
    setup = ci.Setup(path="it's a \"folder\"", mode="progress")
    text = ci.gitlab_ci(setup)
    line = ci._graded(setup)
    assert json.dumps(line) in text  # one YAML double-quoted scalar, escapes and all
    words = subprocess.run(["sh", "-c", line.replace("kata grade", "printf '%s\\n'", 1).split(" > ")[0]],
                           capture_output=True, text=True).stdout.splitlines()
    assert words[:2] == ["--path", "it's a \"folder\""]


def test_an_existing_workflow_is_kept_as_a_backup(runner, tmp_path):
    target = tmp_path / ".gitlab-ci.yml"
    target.write_text("build:\n  script: make\n")
    result = runner.invoke(main, ["ci", "gitlab", "--repo", str(tmp_path)])
    assert result.exit_code == 0, result.output
    backups = list(tmp_path.glob(".gitlab-ci.yml.kata-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == "build:\n  script: make\n"
    assert unwrapped(f"the existing {target} was saved as {backups[0]}") in unwrapped(result.output)
    assert target.read_text() == ci.gitlab_ci(ci.Setup())
    again = runner.invoke(main, ["ci", "gitlab", "--repo", str(tmp_path)])  # same content: nothing to back up
    assert again.exit_code == 0 and "saved as" not in again.output
    assert len(list(tmp_path.glob(".gitlab-ci.yml.kata-backup-*"))) == 1


@pytest.mark.parametrize("args, message", [
    (["gitlab", "--classroom"], "--classroom is GitHub Classroom's"),
    (["github", "--path", "/abs/katas"], "must be a folder inside the repository"),
    (["github", "--path", "../katas"], "must be a folder inside the repository"),
    (["github", "--kata", "dpoo"], "unknown kata 'dpoo'. Did you mean 'dpo'?"),
])
def test_ci_usage_errors_exit_2_and_write_nothing(runner, tmp_path, args, message):
    result = runner.invoke(main, ["ci", *args, "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ summary and JUnit, field by field
def sample_report() -> Report:
    checks = [CheckResult("signature", "pass", "dpo_loss(...)"),
              CheckResult("values", "fail", "case 'a|b': expected 1, got <2>", mistake="sign flipped"),
              CheckResult("device_hygiene", "fail", "advice", advisory=True)]
    return Report([KataResult("get_probs", "pass", [CheckResult("values", "pass", "ok")], seconds=0.25),
                   KataResult.from_checks("dpo", checks, seconds=0.5),
                   KataResult("ipo", "not_started", message="ipo.py still raises NotImplementedError.")],
                  seed=SEED, workspace="katas")


def test_summary_table_has_status_failing_check_and_mistake_per_kata():
    text = export.summary_markdown(Cohort([Member("alice", sample_report())], ["get_probs", "dpo", "ipo"], SEED))
    lines = text.splitlines()
    assert lines[0] == "## 1 / 3 katas pass"
    table = lines[lines.index("| kata | status | failing check | mistake |"):][:5]
    assert table[1:] == ["| --- | --- | --- | --- |",
                         "| get_probs | ✅ pass |  |  |",
                         "| dpo | ❌ fail | values | sign flipped |",
                         "| ipo | ⬜ not started |  |  |"]
    assert "values: case 'a|b': expected 1, got <2>" in text  # the message, inside a fence, verbatim
    assert "device_hygiene" not in text  # an advisory never reads as a failure
    assert lines[-1] == f"Seed {SEED} (reproduce with `kata grade --seed {SEED}`) · dpo-kata {__version__}"


def test_summary_cells_cannot_break_the_table():
    report = Report([KataResult.from_checks("dpo", [CheckResult("values", "fail", "x", mistake="a | b <script>\nc")])],
                    seed=1)
    row = next(l for l in export.summary_markdown(Cohort([Member("p", report)], ["dpo"], 1)).splitlines()
               if l.startswith("| dpo"))
    assert row == "| dpo | ❌ fail | values | a \\| b &lt;script&gt; c |"


def test_junit_of_one_workspace_field_by_field():
    root = ET.fromstring(export.junit_text(Cohort([Member("alice", sample_report())], ["get_probs", "dpo", "ipo"],
                                                  SEED)))
    suite = root.find("testsuite")
    assert suite.attrib == {"name": "alice", "tests": "3", "failures": "2", "errors": "0", "skipped": "0",
                            "time": "0.750"}
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["get_probs"].find("failure") is None
    failure = cases["dpo"].find("failure")
    assert failure.get("type") == "fail" and failure.get("message") == "1 failing check: values"
    assert failure.text == "values: case 'a|b': expected 1, got <2>"
    assert cases["ipo"].find("failure").get("message") == "ipo.py still raises NotImplementedError."


# ------------------------------------------------------------------ grading, then gathering
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """alice solved both katas, bob has 'sign flipped' in dpo; each graded alone as CI would,
    then all together as `kata report` does. The reuse of one seed makes them comparable."""
    root = tmp_path_factory.mktemp("ci")
    runner = CliRunner()
    sources = {"alice": {k: solution_source(k) for k in KATAS},
               "bob": {"get_probs": solution_source("get_probs"),
                       "dpo": (MISTAKES / "dpo" / "sign_flipped.py").read_text()}}
    out = root / "out"
    out.mkdir()
    single = {}
    for person, files in sources.items():
        ws = root / person
        workspace.init(ws)
        for kata, source in files.items():
            (ws / f"{kata}.py").write_text(source)
        result = runner.invoke(main, ["grade", *KATAS, "--path", str(ws), "--seed", str(SEED), "--json",
                                      "--junit", str(out / f"{person}.xml"), "--summary", str(out / f"{person}.md")])
        (out / f"{person}.json").write_text(result.output)
        single[person] = result.exit_code
    files = {}
    for how, args in (("graded", [str(root / p) for p in sources] + ["--seed", str(SEED)]),
                      ("gathered", ["--from-json"] + [str(out / f"{p}.json") for p in sources])):
        files[how] = {ext: root / f"{how}.{ext}" for ext in ("csv", "json", "xml")}
        result = runner.invoke(main, ["report", *args, *[a for k in KATAS for a in ("--kata", k)],
                                      "--csv", str(files[how]["csv"]), "--json", str(files[how]["json"]),
                                      "--junit", str(files[how]["xml"])], env={"COLUMNS": "100"})
        files[how]["output"], files[how]["exit"] = result.output, result.exit_code
    return {"single": single, "out": out, "files": files}


def test_grade_writes_junit_and_summary_for_one_workspace(graded):
    assert graded["single"] == {"alice": 0, "bob": 1}
    bob = graded["out"] / "bob.md"
    assert "| dpo | ❌ fail | values | sign flipped |" in bob.read_text().splitlines()
    suite = ET.parse(graded["out"] / "bob.xml").getroot().find("testsuite")
    assert suite.get("name") == "bob" and suite.get("tests") == "2" and suite.get("failures") == "1"
    doc = json.loads((graded["out"] / "alice.json").read_text())
    assert doc["grader_version"] == __version__ and doc["seed"] == SEED and doc["passed"] == 2


def untimed(rows: list[dict]) -> list[dict]:
    """Rows (CSV rows or katas) without the times, which differ from run to run, checks' included."""
    return [{k: (untimed(v) if k == "checks" else v) for k, v in r.items() if k != "seconds"} for r in rows]


def test_from_json_gives_the_same_table_and_files_as_grading(graded):
    graded_, gathered = graded["files"]["graded"], graded["files"]["gathered"]
    assert gathered["exit"] == graded_["exit"] == 1
    assert gathered["output"] == graded_["output"]
    read_csv = lambda p: untimed(list(csv.DictReader(io.StringIO(p.read_text()))))
    assert read_csv(gathered["csv"]) == read_csv(graded_["csv"])

    def people(p):
        doc = json.loads(p.read_text())
        for person in doc["people"]:
            person["katas"] = untimed(person["katas"])
        return doc

    assert people(gathered["json"]) == people(graded_["json"])

    def cases(p):
        root = ET.parse(p).getroot()
        return [(s.get("name"), c.get("name"), [(e.tag, e.get("message")) for e in c])
                for s in root.findall("testsuite") for c in s.findall("testcase")]

    assert cases(gathered["xml"]) == cases(graded_["xml"])


def test_from_json_names_people_after_artifact_folders_and_warns_on_mixed_versions_and_seeds(runner, graded, tmp_path):
    for person, version, seed in (("alice", __version__, SEED), ("bob", "0.0.9", SEED + 1)):
        doc = json.loads((graded["out"] / f"{person}.json").read_text())
        doc["grader_version"], doc["seed"] = version, seed
        (tmp_path / person).mkdir()
        (tmp_path / person / "kata-results.json").write_text(json.dumps(doc))
    result = runner.invoke(main, ["report", "--from-json", str(tmp_path / "alice" / "kata-results.json"),
                                  str(tmp_path / "bob" / "kata-results.json")], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"grader versions other than this one ({__version__}): 0.0.9: bob; {__version__}: alice." in text
    assert f"different seeds ({SEED}, {SEED + 1})" in text
    assert any(line.startswith("alice") for line in result.output.splitlines())
    assert any(line.startswith("bob") for line in result.output.splitlines())


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"katas": "x"}', "is not the JSON of `kata grade --json`"),
    ('{"katas": [{"name": "dpo", "status": "bogus"}], "seed": 1}', "is not the JSON of `kata grade --json`"),
])
def test_from_json_rejects_what_is_not_a_report(runner, tmp_path, content, message):
    bad = tmp_path / "carol.json"
    bad.write_text(content)
    result = runner.invoke(main, ["report", "--from-json", str(bad)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_report_without_from_json_points_at_it_for_json_files(runner, tmp_path):
    f = tmp_path / "alice.json"
    f.write_text("{}")
    result = runner.invoke(main, ["report", str(f)])
    assert result.exit_code == 2
    assert unwrapped(f"'{f}' is not a workspace folder (JSON results need --from-json).") in unwrapped(result.output)
