# kata: dpo
# Wrong (all zeros), and reports that gradcheck ran without saying how it went: the shape
# check must refuse the record, or gradcheck would raise in the grader.
import importlib

import torch

probe = importlib.import_module("grader.checks.probe")
probe.probe_gradcheck = lambda *args, **kwargs: {"ran": True}


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    zeros = torch.zeros(policy_chosen_logps.shape[0], dtype=policy_chosen_logps.dtype)
    return policy_chosen_logps.sum() * 0, zeros, zeros
