"""The grader-side dispatch: every check by name (`CHECKS`), run in the kata's order.

Each check is a function `Context -> CheckResult` (grader.checks.context) that never prints;
they live in `numeric` (values, stability, gradients, gradcheck) and `structure` (the rest).
A class kata adds its own checks of the same signature (see grader.catalog.bt.model).
"""
from __future__ import annotations

import time
from typing import Callable

from grader.core.faults import stage
from grader.core.results import CheckResult
from grader.checks.context import Context, error_text, errored, fail, named, reference_runs  # noqa: F401 (re-exported)
from grader.checks.numeric import check_gradcheck, check_gradients, check_stability, check_values
from grader.checks.structure import (check_bad_input, check_behaviour, check_constants_detached, check_cuda_agreement,
                                     check_device_hygiene, check_keeps_graph, check_masked_grad_zero,
                                     check_output_types, check_rewards_detached, check_row_independence)
from grader.checks.side_effects import check_inputs_unchanged
from grader.checks.signature import check_signature

Check = Callable[[Context], CheckResult]


def judge(ctx: Context, check_names: tuple[str, ...], checks: dict[str, Check] | None = None) -> list[CheckResult]:
    """Run `check_names` in order (from `checks`, CHECKS by default), timing each (per-check time
    in the JSON), and end each unexplained failure with the next step. A check that raises, or
    one the kata lists and nothing implements, is the grader's fault, named (grader.core.faults)."""
    table = CHECKS if checks is None else checks
    results = []
    for name in check_names:
        with stage("judging", check=name):
            if name not in table:
                raise LookupError(f"the kata lists the check '{name}', which neither grader/checks/judge.py "
                                  "nor the kata's spec implements")
            started = time.perf_counter()
            results.append(table[name](ctx))
            results[-1].seconds = time.perf_counter() - started
    return suggest_next_step(results, ctx.hint_command)


def suggest_next_step(results: list[CheckResult], hint_command: str) -> list[CheckResult]:
    """End every unexplained failure with where to look next.

    When one check recognised a catalogued mistake, the other failures are most likely its
    consequences, and saying so beats calling them unknown.
    """
    found = next((c for c in results if c.mistake), None)
    for c in results:
        if c.status != "fail" or c.mistake or c.advisory:
            continue
        if c.message and not c.message.rstrip().endswith((".", "!", "?")):  # a sentence before the next one
            c.message = c.message.rstrip() + "."
        if found is not None:
            c.message += f" Probably a consequence of '{found.mistake}' (see {found.name})."
        else:
            c.message += f" Not one of the catalogued mistakes; `{hint_command}` explains the computation step by step."
    return results


CHECKS: dict[str, Check] = {
    "signature": check_signature,
    "output_types": check_output_types,
    "values": check_values,
    "stability": check_stability,
    "gradients": check_gradients,
    "gradcheck": check_gradcheck,
    "masked_grad_zero": check_masked_grad_zero,
    "rewards_detached": check_rewards_detached,
    "keeps_graph": check_keeps_graph,
    "constants_detached": check_constants_detached,
    "bad_input": check_bad_input,
    "inputs_unchanged": check_inputs_unchanged,
    "row_independence": check_row_independence,
    "cuda_agreement": check_cuda_agreement,
    "device_hygiene": check_device_hygiene,
    "behaviour": check_behaviour,
}
