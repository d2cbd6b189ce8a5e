"""`pytest --kata`: one item per kata and check, the grader's message as the failure text; a
plain pytest run is left exactly as it was. Driven through real pytest processes."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from grader import registry
from grader.core import workspace
from tests.conftest import MISTAKES, solution_source

ROOT = workspace.PACKAGE_ROOT


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # Autoload off and the plugin named: the same whether or not this checkout is pip-installed.
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "grader.pytest_plugin", "-p", "no:cacheprovider",
                           *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pytest11"] == {"kata": "grader.pytest_plugin"}


def test_kata_items_pass_fail_and_skip_with_the_graders_message(tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    (ws / "ipo.py").write_text((MISTAKES / "ipo" / "no_mask.py").read_text())
    junit = tmp_path / "out.xml"
    proc = pytest_run(tmp_path, "--kata=ipo,dpo,simpo", "--kata-path", "ws", "--kata-seed", "0",
                      f"--junitxml={junit}", "-q")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(junit).getroot().iter("testcase")}
    expected = {(f"ws.{k}", n) for k in ("dpo", "ipo", "simpo") for n in ("kata", *registry.get(k).check_names)}
    assert set(cases) == expected  # one item per kata and check, nothing else collected

    def outcome(kata: str, name: str) -> str:
        case = cases[(f"ws.{kata}", name)]
        return next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")

    dpo = registry.get("dpo")
    assert [outcome("dpo", n) for n in ("kata", "signature", "values", "behaviour")] == ["passed"] * 4
    assert outcome("dpo", "cuda_agreement") == "skipped"  # no CUDA here, as the report says
    assert outcome("ipo", "kata") == outcome("ipo", "values") == "failure"
    values = cases[("ws.ipo", "values")].find("failure")
    assert values.get("message").startswith("values FAIL [known mistake: mask not applied]: case ")
    assert "This is the known mistake 'mask not applied'" in values.text
    assert outcome("simpo", "kata") == "failure"
    assert "simpo.py still raises NotImplementedError" in cases[("ws.simpo", "kata")].find("failure").text
    assert {outcome("simpo", n) for n in registry.get("simpo").check_names} == {"skipped"}
    assert len([n for n in dpo.check_names]) + 1 == sum(1 for k in cases if k[0] == "ws.dpo")
    state = (ws / ".kata" / "state.json").read_text()  # progress recorded as `kata grade` records it
    assert '"dpo"' in state and '"pass"' in state


def test_a_plain_pytest_run_is_unchanged(tmp_path):
    (tmp_path / "test_some.py").write_text("def test_one():\n    pass\n\n\ndef test_two():\n    assert 1 == 2\n")
    (tmp_path / "katas").mkdir()  # a workspace beside the tests changes nothing without --kata
    workspace.init(tmp_path / "katas")
    with_plugin = pytest_run(tmp_path, "-q", "--collect-only")
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", COLUMNS="200")
    without = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only"],
                             cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    strip = lambda out: [line for line in out.splitlines() if " in " not in line]  # the timing line differs
    assert strip(with_plugin.stdout) == strip(without.stdout) == ["test_some.py::test_one", "test_some.py::test_two",
                                                                   ""]
    ran = pytest_run(tmp_path, "-q")
    assert ran.returncode == 1 and "1 failed, 1 passed" in ran.stdout


def test_an_unknown_kata_is_a_usage_error(tmp_path):
    proc = pytest_run(tmp_path, "--kata=dpo,DPX")
    assert proc.returncode == 4  # pytest's usage error
    assert "--kata: unknown kata 'DPX'." in proc.stderr
