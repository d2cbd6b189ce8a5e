# kata: dpo
# Wrong (all zeros), and rewrites each tensor's type record in the child into the short form
# of a value that is not a tensor ({"tensor": True, "type": ...}): the shape check must refuse
# it, or output_types would raise in the grader and a grader fault charges nobody.
import importlib

import torch

probe = importlib.import_module("grader.checks.probe")
_run_case = probe.run_case


def _stripped(*args, **kwargs):
    run = _run_case(*args, **kwargs)
    run["types"] = [{"tensor": True, "type": "Tensor"}] * len(run["types"])
    return run


probe.run_case = _stripped


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    zeros = torch.zeros(policy_chosen_logps.shape[0], dtype=policy_chosen_logps.dtype)
    return policy_chosen_logps.sum() * 0, zeros, zeros
