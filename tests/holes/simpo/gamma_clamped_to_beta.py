# check: values
# WRONG: z = β·(Δ - γ/max(β, 0.1)) ("avoid dividing by a tiny β"): for β < 0.1 the margin subtracted is β·γ/0.1, not γ.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    gamma_beta_ratio = gamma / max(beta, 0.1)
    z = beta * ((c - r) - gamma_beta_ratio)
    return -F.logsigmoid(z).mean(), (beta * c).detach(), (beta * r).detach()
