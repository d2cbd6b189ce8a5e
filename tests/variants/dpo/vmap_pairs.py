# RIGHT: the per-pair loss written for one pair and mapped over the batch with torch.func.vmap; softplus(-β·h) for -log σ(β·h).
import torch
import torch.nn.functional as F
from torch.func import vmap


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype

    def one(pc, pr, rc, rr, mc, mr):
        c = ((pc - rc) * mc).sum()
        r = ((pr - rr) * mr).sum()
        return F.softplus(-beta * (c - r)), beta * c, beta * r

    per_pair, c, r = vmap(one)(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                               chosen_mask.to(dt), rejected_mask.to(dt))
    return per_pair.mean(), c.detach(), r.detach()
