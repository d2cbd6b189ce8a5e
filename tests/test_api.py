"""The notebook API: `grade(name, obj)` grades a function object in the sandboxed child and
returns the CLI's report, which renders itself (HTML for Jupyter, rich, plain text)."""
from __future__ import annotations

import io
import json
import os

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from rich.console import Console

from grader import grade, registry
from grader.api import GradeResult
from grader.practice.notebook import _bind, kata_source
from grader.cli import main
from tests.borrowed import lend


# The candidate's notebook: a helper, the function, and a wrong variant of it.
def masked_sum(logps, mask):
    return (logps * mask.to(logps.dtype)).sum(-1)  # [B]


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = masked_sum(policy_chosen_logps, chosen_mask) - masked_sum(ref_chosen_logps, chosen_mask)
    rejected = masked_sum(policy_rejected_logps, rejected_mask) - masked_sum(ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()


def flipped_dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                chosen_mask, rejected_mask, beta=0.1):
    chosen = masked_sum(policy_chosen_logps, chosen_mask) - masked_sum(ref_chosen_logps, chosen_mask)
    rejected = masked_sum(policy_rejected_logps, rejected_mask) - masked_sum(ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (rejected - chosen)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()


def test_a_correct_function_object_passes_in_the_child(sandbox):
    result = grade("dpo", dpo_loss, seed=0, sandbox=sandbox)
    assert isinstance(result, GradeResult)
    assert result.status == "pass" and result.ok, [(c.name, c.message) for c in result.kata.failed_checks]
    assert [c.name for c in result.checks] == list(registry.get("dpo").check_names)
    assert result.workspace == "notebook" and result.seed == 0
    assert repr(result) == "<GradeResult dpo: pass, seed 0>"


def test_a_wrong_function_object_fails_at_its_check_with_the_mistake_named(sandbox):
    result = grade("dpo", flipped_dpo, seed=0, sandbox=sandbox)
    assert result.status == "fail"
    values = next(c for c in result.checks if c.name == "values")
    assert (values.status, values.mistake) == ("fail", "sign flipped")
    assert "failed: " in repr(result) and "values" in repr(result)


def test_to_json_is_kata_grade_json(sandbox, monkeypatch, tmp_path):
    """Same document, key for key, as `kata grade --json` on the same code and seed."""
    lend(monkeypatch, sandbox)
    api_doc = json.loads(grade("dpo", dpo_loss, seed=5, sandbox=sandbox).to_json())
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "dpo.py").write_text(kata_source("dpo", dpo_loss))
    cli = CliRunner().invoke(main, ["grade", "dpo", "--json", "--seed", "5", "--path", str(ws)])
    cli_doc = json.loads(cli.stdout)

    def shape(doc):
        return {key: value for key, value in doc.items() if key not in ("workspace", "katas")} | {
            "katas": [{k: v for k, v in kata.items() if k != "seconds"} | {
                "checks": [{k: v for k, v in c.items() if k != "seconds"} for c in kata["checks"]]}
                for kata in doc["katas"]]}

    assert shape(api_doc) == shape(cli_doc)  # statuses, messages, details and hints_used included
    assert set(api_doc) == set(cli_doc) == {"katas", "passed", "total", "seed", "workspace", "warnings",
                                            "grader_version"}
    assert api_doc["katas"][0]["status"] == "pass" and api_doc["katas"][0]["hints_used"] == 0


def test_renders_as_html_rich_and_text(sandbox):
    result = grade("dpo", flipped_dpo, seed=0, sandbox=sandbox)
    html = result._repr_html_()
    assert html.startswith("<pre ") and html.rstrip().endswith("</pre>")  # a fragment for the output cell
    assert "FAIL" in html and "sign flipped" in html and "color:" in html  # styled inline
    con = Console(file=io.StringIO(), width=120, force_terminal=True, color_system="truecolor")
    con.print(result)
    rich_out = con.file.getvalue()
    assert "\x1b[" in rich_out and "dpo" in rich_out and "FAIL" in rich_out
    text = str(result)
    assert text.splitlines()[0].startswith("dpo  FAIL")
    assert "\x1b[" not in text


def test_kata_source_prepends_imports_copies_helpers_and_binds_the_entry_name():
    source = kata_source("dpo", flipped_dpo)
    assert source.startswith("import math\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
                             "from torch import Tensor\n")
    assert "def masked_sum(logps, mask):" in source  # a helper from the same module, copied
    assert source.index("def masked_sum") < source.index("def flipped_dpo")
    assert source.rstrip().endswith("dpo_loss = flipped_dpo")
    compile(source, "dpo.py", "exec")


def notebook_cell(code: str, number: int, namespace: dict | None = None) -> dict:
    """Run `code` as Jupyter runs a cell: compiled under a cell's file name kept in linecache, in
    the kernel's one namespace (`namespace`, shared by the cells run with it)."""
    import linecache

    filename = f"<ipython-input-{number}-0123456789ab>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    namespace = namespace if namespace is not None else {"__name__": "__main__"}
    exec(compile(code, filename, "exec"), namespace)
    return namespace


def test_a_function_from_a_notebook_cell_is_graded_with_its_module_imports(sandbox):
    cell = notebook_cell(
        "import numpy as np\n"
        "import torch.nn.functional as fn\n"
        "from os import path as osp\n"
        "def masked_sum(lp, m):\n"
        "    m = m.to(lp.dtype)\n"
        "    return (lp * m).sum(-1)\n"
        "def my_dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
        "           chosen_mask, rejected_mask, beta=0.1):\n"
        "    assert np.pi > 3 and osp.sep\n"
        "    c = masked_sum(policy_chosen_logps, chosen_mask) - masked_sum(ref_chosen_logps, chosen_mask)\n"
        "    r = masked_sum(policy_rejected_logps, rejected_mask) - masked_sum(ref_rejected_logps, rejected_mask)\n"
        "    return -fn.logsigmoid(beta * (c - r)).mean(), (beta * c).detach(), (beta * r).detach()\n", 7)
    source = kata_source("dpo", cell["my_dpo"])
    assert f"\nfrom torch.nn import functional as fn\nimport numpy as np\nimport {os.path.__name__} as osp\n" in source
    assert "def masked_sum(lp, m):" in source and source.rstrip().endswith("dpo_loss = my_dpo")
    result = grade("dpo", cell["my_dpo"], seed=0, sandbox=sandbox)
    assert result.status == "pass", [(c.name, c.message) for c in result.kata.failed_checks]


def test_objects_without_source_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="lambda"):
        kata_source("dpo", lambda *a, beta=0.1: a)
    with pytest.raises(ValueError, match="this kata needs dpo_loss"):
        kata_source("dpo", {})


def test_several_entry_points_bind_by_name_then_in_order():
    class BTModel:
        pass

    def bt_loss():
        pass

    def my_loss():
        pass

    entry = ("BTModel", "bt_loss")
    assert _bind(entry, (bt_loss, BTModel)) == {"BTModel": BTModel, "bt_loss": bt_loss}
    assert _bind(entry, (BTModel, my_loss)) == {"BTModel": BTModel, "bt_loss": my_loss}
    assert _bind(entry, ({"BTModel": BTModel, "bt_loss": my_loss},)) == {"BTModel": BTModel, "bt_loss": my_loss}
    with pytest.raises(ValueError, match="missing: bt_loss"):
        _bind(entry, (BTModel,))
    with pytest.raises(ValueError, match="too many objects"):
        _bind(entry, (BTModel, bt_loss, my_loss))


@pytest.mark.skipif("bt" not in registry.KATAS, reason="the bt kata is not in the registry yet")
def test_grade_bt_with_a_class_and_a_function(sandbox):
    from grader.core import workspace

    cell = notebook_cell(workspace.solution_path(registry.get("bt")).read_text(), 8)  # class and function in a cell
    result = grade("bt", *(cell[e] for e in registry.get("bt").entry), seed=0, sandbox=sandbox)
    assert result.status == "pass", [(c.name, c.message) for c in result.kata.failed_checks]


def test_grade_without_objects_grades_the_workspace_file(sandbox, tmp_path):
    from grader.core import workspace

    workspace.init(tmp_path / "ws")
    result = grade("dpo", path=tmp_path / "ws", seed=0, sandbox=sandbox)
    assert result.status == "not_started" and result.workspace == str(tmp_path / "ws")


# ------------------------------------------------------------------ globals a function uses
def test_constants_helpers_imports_and_classes_from_other_cells_are_carried(sandbox):
    kernel = notebook_cell("import torch\nSCALE = 1.0\nBETA_DEFAULT = 0.1\nPAIR = ('chosen', 'rejected')\n"
                              "ONE = torch.tensor(1.0, dtype=torch.float64)\n", 11)
    cell = notebook_cell(
        "import torch.nn.functional as F\n"
        "class Reduce:\n"
        "    @staticmethod\n"
        "    def masked_sum(lp, m):\n"
        "        return (lp * m.to(lp.dtype)).sum(-1)\n"
        "def margin(c, r):\n"
        "    return SCALE * (c - r) * ONE.to(c.dtype)\n"
        "def my_dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
        "           chosen_mask, rejected_mask, beta=BETA_DEFAULT):\n"
        "    assert PAIR[0] == 'chosen'\n"
        "    c = Reduce.masked_sum(policy_chosen_logps, chosen_mask) - Reduce.masked_sum(ref_chosen_logps, chosen_mask)\n"
        "    r = Reduce.masked_sum(policy_rejected_logps, rejected_mask) - Reduce.masked_sum(ref_rejected_logps, "
        "rejected_mask)\n"
        "    return -F.logsigmoid(beta * margin(c, r)).mean(), (beta * c).detach(), (beta * r).detach()\n", 12, kernel)
    source = kata_source("dpo", cell["my_dpo"])
    for line in ("SCALE = 1.0", "BETA_DEFAULT = 0.1", "PAIR = ('chosen', 'rejected')",
                 "ONE = torch.tensor(1.0, dtype=torch.float64)", "class Reduce:", "def margin(c, r):"):
        assert line in source.splitlines(), line
    result = grade("dpo", cell["my_dpo"], seed=0, sandbox=sandbox)
    assert result.status == "pass", [(c.name, c.message) for c in result.kata.failed_checks]


def test_a_global_that_cannot_be_carried_is_named_before_grading(monkeypatch):
    import grader.core.engine as engine

    monkeypatch.setattr(engine, "grade", lambda *a, **k: pytest.fail("graded although a global cannot be carried"))
    cell = notebook_cell("import torch\nmodel = torch.nn.Linear(2, 2)\nlog = open(__import__('os').devnull)\n"
                         "def my_dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
                         "           chosen_mask, rejected_mask, beta=0.1):\n"
                         "    print(model.weight, file=log)\n"
                         "    return policy_chosen_logps.sum(), None, None\n", 3)
    with pytest.raises(ValueError) as exc:
        grade("dpo", cell["my_dpo"], seed=0, sandbox=object())
    assert str(exc.value).startswith("these globals cannot be carried into the sandbox, where your code runs: "
                                     "log (a TextIOWrapper, which cannot be written as source); model (a Linear, "
                                     "which cannot be written as source). Define them inside the function")


def test_an_attribute_named_like_a_global_is_not_carried():
    cell = notebook_cell("import torch\nweight = torch.nn.Linear(2, 2)\n"
                         "def my_dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
                         "           chosen_mask, rejected_mask, beta=0.1):\n"
                         "    return policy_chosen_logps.weight, None, None\n", 4)
    assert "weight" not in kata_source("dpo", cell["my_dpo"]).split("def my_dpo")[0]


def test_the_notebook_report_gives_the_seed_as_the_api_takes_it(sandbox):
    text = str(grade("dpo", flipped_dpo, seed=5, sandbox=sandbox))
    assert "seed 5 (reproduce with seed=5)" in " ".join(text.split()) and "--seed" not in text


def raises_inside_torch(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                        chosen_mask, rejected_mask, beta=0.1):
    print("\n".join(f"step {i}" for i in range(30)))
    chosen = masked_sum(policy_chosen_logps, chosen_mask) - masked_sum(ref_chosen_logps, chosen_mask)
    return F.cross_entropy(chosen, chosen.long()), chosen, chosen


def test_the_notebook_report_asks_for_everything_as_a_notebook_can(sandbox):
    result = grade("dpo", raises_inside_torch, seed=5, sandbox=sandbox)
    for shown in (str(result), result._repr_html_()):
        flat = " ".join(shown.split())
        assert "print(result.full()) shows every frame of the traceback" in flat and "--verbose" not in flat
        assert "torch/nn/functional.py" not in flat
    assert "; print(result.full()) shows all):" in " ".join(str(result).split())
    full = result.full()
    assert "--verbose" not in full and "print(result.full())" not in full
    assert "torch/nn/functional.py:" in full and "grader/checks/runs.py:" in full
    assert all(f"step {i}\n" in full for i in range(30))  # everything it printed
