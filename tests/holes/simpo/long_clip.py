# check: values
# WRONG: each response truncated to its first 64 response tokens before averaging (a max completion length applied inside the loss).
import torch
import torch.nn.functional as F

MAX_COMPLETION = 64


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    def avg(lp, mask):
        m = mask.to(lp.dtype)
        m = m * (m.cumsum(-1) <= MAX_COMPLETION).to(lp.dtype)  # keep the first 64 response tokens
        return (lp * m).sum(-1) / m.sum(-1)
    c, r = avg(policy_chosen_logps, chosen_mask), avg(policy_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
