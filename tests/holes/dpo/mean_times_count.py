# check: values
# WRONG: the sequence log-ratio as masked mean × token count: 0/0 = NaN for an empty response (a truncated pair).
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nc, nr = mc.sum(-1), mr.sum(-1)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / nc * nc
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / nr * nr
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
