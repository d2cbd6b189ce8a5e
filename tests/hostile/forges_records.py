# kata: dpo
# Wrong (all zeros), and rewrites the probe's records in the child so that a check would raise
# in the grader: a grader fault charges nobody, so this would escape a verdict.
import importlib

import torch

probe = importlib.import_module("grader.checks.probe")
_run_case = probe.run_case


def _stripped(*args, **kwargs):
    run = _run_case(*args, **kwargs)
    run["types"] = [{"tensor": True}] * len(run["types"])
    return run


probe.run_case = _stripped


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    zeros = torch.zeros(policy_chosen_logps.shape[0], dtype=policy_chosen_logps.dtype)
    return policy_chosen_logps.sum() * 0, zeros, zeros
