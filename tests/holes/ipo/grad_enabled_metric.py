# check: values
# status: error
# WRONG: a gradient norm is logged with torch.autograd.grad whenever grad mode is on: called with grad mode on and inputs without a graph, it raises.
import torch

LAST_GRAD_NORM = None


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    global LAST_GRAD_NORM
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1).clamp(min=1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1).clamp(min=1)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    if torch.is_grad_enabled():  # training step: log the gradient norm
        g_c, g_r = torch.autograd.grad(loss, (policy_chosen_logps, policy_rejected_logps), retain_graph=True)
        LAST_GRAD_NORM = float(torch.cat([g_c.flatten(), g_r.flatten()]).norm())
    return loss, (beta * c).detach(), (beta * r).detach()
