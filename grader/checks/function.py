"""What a function kata is: `FunctionSpec`, the record every function kata's spec is.

It describes one function: its parameters, outputs, which inputs carry gradients, which
masks zero them, the seeded input cases, the catalogued mistakes' models, the convention
families for diagnosis, and the behaviour run. It implements the spec interface
(grader.checks.spec.Spec) by handing over, one way only: the child side to
`grader.checks.probe` (which collects plain data and decides nothing), the grader side to
`grader.checks.judge` (the checks). Neither of those imports this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from grader.checks import judge as _judge
from grader.checks import probe as _probe
from grader.checks import schema as _schema
from grader.checks.cases import Case
from grader.checks.context import Context, one_thread
from grader.checks.conventions import Conventions
# Re-exported: catalogue specs and tests import these names from here.
from grader.checks.probe import (_dynamo_stand_in, as_outputs, describe_error, describe_type,  # noqa: F401
                                 has_custom_backward, is_batched, run_case, signature_of)
from grader.checks.spec import REQUIRED, Behaviour, Param  # noqa: F401


@dataclass
class FunctionSpec:
    function: str
    params: tuple[Param, ...]
    outputs: tuple[str, ...]  # one name: a bare tensor is returned; several: a tuple
    grad_inputs: tuple[str, ...]
    make_cases: Callable[[int], list[Case]]
    loss: str | None = None  # the 0-dim output to differentiate; None: outputs[0] against `upstream`
    # grad input -> its mask input, or a function of the case giving, for a grad input that is
    # not aligned with any mask, a bool tensor broadcastable to it: True where gradient may flow.
    masks: dict[str, str | Callable[[Case], torch.Tensor]] = field(default_factory=dict)
    detached: tuple[str, ...] = ()
    # Inputs that are constants of the objective (old log-probs, advantages, returns): passed
    # with requires_grad so that `constants_detached` can verify that no gradient reaches them.
    constants: tuple[str, ...] = ()
    # The grad inputs that require grad in training (None: all of them). kl's ref_logps is a grad
    # input, whose gradient is graded, but a frozen model's in training: the gradients are also
    # taken with only these and no constant requiring grad (grader.checks.probe.probe_trained).
    trained: tuple[str, ...] | None = None
    # Calls the contract rejects: each case must raise ValueError (the `bad_input` check).
    bad_inputs: Callable[[int], list[Case]] | None = None
    # Catalogued mistake name -> the wrong computation, same arguments as the function,
    # returning the outputs it gets wrong by name (or a list of such dicts: the common
    # ways of writing the same mistake). Mistakes without a model are named by their check.
    # A mistake of the `gradients` check returns its outputs with their graph, and is
    # recognised by its gradients (grader.checks.diagnose.model_gradients), not its values.
    models: dict[str, Callable[..., Any]] = field(default_factory=dict)
    behaviour: Behaviour | None = None
    row_case: int = 0  # index of the case graded row by row
    # Checks of this kata alone, by name (e.g. an advisory accuracy check); `judge` looks a
    # name up here before the shared checks, so a kata adds a check without editing them.
    checks: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    combine_rows: Callable[[list[list[torch.Tensor]], Case], list[torch.Tensor]] | None = None
    # The kata's formula with its conventions as knobs, for the differential diagnosis
    # (grader.checks.conventions explains how to declare it).
    conventions: Conventions | None = None
    # Generic finding (grader.checks.diagnose.FINDINGS) -> the catalogued mistake it is here.
    findings: dict[str, str] = field(default_factory=dict)
    # Further outputs that must keep their graph, beside graph_output (`keeps_graph` checks each):
    # ppo's value_loss trains the critic from its own graph when vf_coef = 0.
    graph_outputs_extra: tuple[str, ...] = ()

    @property
    def graph_output(self) -> str:
        return self.loss or self.outputs[0]

    @property
    def graph_outputs(self) -> tuple[str, ...]:
        """Every output that must be connected to the inputs' graph."""
        return (self.graph_output,) + tuple(n for n in self.graph_outputs_extra if n != self.graph_output)

    def masked_positions(self, case: Case, grad_input: str) -> torch.Tensor:
        """True where d graph_output / d grad_input must be exactly 0; shaped like that input."""
        mask = self.masks[grad_input]
        counted = case.inputs[mask].bool() if isinstance(mask, str) else mask(case)
        return (~counted).expand(case.inputs[grad_input].shape)

    def call(self, fn: Callable, case: Case, inputs: dict[str, Any] | None = None,
             options: dict[str, Any] | None = None) -> Any:
        return _probe.call(fn, case, inputs, options)

    def default_combine(self, rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
        """What the batch outputs must be, given the outputs of each row graded alone."""
        combined = []
        for j, name in enumerate(self.outputs):
            parts = [r[j] for r in rows]
            combined.append(torch.stack(parts).mean(0) if name == self.loss else torch.cat(parts, 0))
        return combined

    # ------------------------------------------------------------------ child side
    def probe(self, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
        """Run the submission on every case; return plain tensors and plain data only."""
        return _probe.probe_function(self, module, cases, seed, cuda)

    def probe_rows(self, fn: Callable, case: Case) -> dict[str, Any]:
        return _probe.probe_rows(self, fn, case)

    # ------------------------------------------------------------------ grader side
    def expected(self, reference: Any, cases: list[Case]) -> list[dict[str, Any]]:
        """The reference module's runs on `cases`: computed once per kata and seed, shared by every
        submission judged against them (a cohort of workspaces pays for it once)."""
        with one_thread():
            return _judge.reference_runs(self, getattr(reference, self.function), cases)

    def malformed(self, cases: list[Case], result: dict[str, Any]) -> str:
        """Why a child's report is not what an honest child writes ("" when it is): a forged
        report with no outputs would otherwise pass the checks that compare outputs pairwise."""
        shape = _schema.problem(result, _schema.FUNCTION_REPORT)
        if shape:
            return shape
        cuda = result["cuda"].get("runs", {})  # keyed by case index (grader.checks.probe.probe_cuda)
        if not all(str(k).isdigit() and int(k) < len(cases) for k in cuda):
            return "the CUDA runs name cases that do not exist"
        return self._malformed_runs(cases, result["runs"], "runs") or \
            self._malformed_runs(cases, result["no_grad"]["runs"], "runs without a graph") \
            or self._malformed_trained(cases, result["trained"])

    def _malformed_trained(self, cases: list[Case], runs: Any) -> str:
        names = _probe.trained_inputs(self)
        if not names:
            return ""
        if runs is None or len(runs) != len(cases):  # each run's shape: FUNCTION_REPORT, checked before
            return f"{'no' if runs is None else len(runs)} training runs reported for {len(cases)} cases"
        return ""

    def _malformed_runs(self, cases: list[Case], runs: Any, what: str) -> str:
        if not isinstance(runs, list) or len(runs) != len(cases):
            return f"{len(runs) if isinstance(runs, list) else 'no'} {what} reported for {len(cases)} cases"
        for i, run in enumerate(runs):
            if not isinstance(run, dict):
                return f"{what}: {i} is not a record"
            outputs, types = run.get("outputs") or (), run.get("types") or ()
            if not run.get("error") and not len(outputs) == len(types) == len(self.outputs):
                return f"{what}: {i} reports {len(outputs)} outputs; the kata has {len(self.outputs)}"
        return ""

    def judge(self, reference: Any, cases: list[Case], cand: dict[str, Any], kata: Any,
              expected: list[dict[str, Any]] | None = None) -> list[Any]:
        """Every check of `kata`, in its order, comparing the child's results with `reference`'s
        (`expected`: the reference's runs from `self.expected`, computed here when absent)."""
        with one_thread():
            ctx = Context(self, cases, getattr(reference, self.function), cand, kata.mistakes,
                          f"kata hint {kata.name}", expected)
            return _judge.judge(ctx, kata.check_names, {**_judge.CHECKS, **self.checks})

