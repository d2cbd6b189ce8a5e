# check: values
# WRONG: each row keeps only its first 512 positions (lp[:, :512], a max_length cut applied inside the loss): responses longer than that lose tokens.
import torch
import torch.nn.functional as F

MAX_LEN = 512


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    pc, pr = policy_chosen_logps[:, :MAX_LEN], policy_rejected_logps[:, :MAX_LEN]
    mc = chosen_mask[:, :MAX_LEN].to(pc.dtype)
    mr = rejected_mask[:, :MAX_LEN].to(pr.dtype)
    c = (pc * mc).sum(-1) / mc.sum(-1)
    r = (pr * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
