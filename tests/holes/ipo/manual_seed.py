# check: inputs_unchanged
# WRONG: the function calls torch.manual_seed(0): every call resets the caller's global RNG.
import torch

SEED = 0


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    torch.manual_seed(SEED)  # reproducible runs
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1).clamp(min=1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1).clamp(min=1)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
