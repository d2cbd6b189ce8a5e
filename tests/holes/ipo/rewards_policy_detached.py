# check: rewards_detached
# WRONG: the rewards detach only the policy's means, β·(a_pi.detach() - a_ref): a reference whose log-probs carry a graph leaves it on the rewards.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nc, nr = mc.sum(-1).clamp(min=1), mr.sum(-1).clamp(min=1)
    pc, pr = (policy_chosen_logps * mc).sum(-1) / nc, (policy_rejected_logps * mr).sum(-1) / nr
    rc, rr = (ref_chosen_logps * mc).sum(-1) / nc, (ref_rejected_logps * mr).sum(-1) / nr
    h = (pc - rc) - (pr - rr)
    loss = ((h - 1 / (2 * beta)) ** 2).mean()
    return loss, beta * (pc.detach() - rc), beta * (pr.detach() - rr)
