"""`kata list`, `show`, `hint`, `solution`, every `--help`, `import grader` and `from grader
import grade` never import torch (it costs a second or more): checked in fresh interpreters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from grader import registry
from grader.core import workspace

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
results = {}
import grader
from grader import grade
import grader.api, grader.practice.watch, grader.practice.experiment, grader.render, grader.cli
import grader.pytest_plugin
results["import grader, grade, api, watch, experiment, cli, pytest plugin"] = "torch" in sys.modules
from grader.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args, prog_name="kata", standalone_mode=False)
    except SystemExit:
        pass
    results[" ".join(args)] = "torch" in sys.modules
print(json.dumps(results))
"""


def commands(ws: Path) -> list[list[str]]:
    name = registry.names()[-1]
    return [
        ["--help"], ["list", "--path", str(ws)], ["show", name], ["hint", name, "--path", str(ws)],
        ["hint", name, "--all", "--path", str(ws)], ["solution", name, "--path", str(ws)],
        ["solution", name, "--force", "--path", str(ws)], ["next", "--path", str(ws)], ["--version"],
        *[[cmd, "--help"] for cmd in ("list", "show", "hint", "solution", "grade", "watch", "experiment", "init",
                                      "reset", "report", "next")],
    ]


def run_python(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_light_commands_never_import_torch(tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    cmds = commands(ws)
    proc = run_python("-c", PROBE, json.dumps(cmds))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == len(cmds) + 1
    assert [cmd for cmd, imported in results.items() if imported] == []
    assert "hint" in (ws / ".kata" / "state.json").read_text()  # the commands ran, with effect


def test_kata_list_imports_no_torch_module_at_all(tmp_path):
    """`python -X importtime -m grader list`: the console-script path, module by module."""
    proc = run_python("-X", "importtime", "-m", "grader", "list", "--path", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "grader.registry" in imported  # the probe sees the grader's own imports
    assert [m for m in imported if m.split(".")[0] in ("torch", "numpy", "watchfiles", "matplotlib")] == []
