# check: inputs_unchanged
# WRONG: registers a hook on the caller's log-prob tensors that zeroes their gradient outside this call's response mask: the kata's own gradient is unchanged, but every other term's gradient through those tensors (an SFT term on the prompt, a second loss) is zeroed at masked positions, and the hooks pile up across calls.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    if policy_chosen_logps.requires_grad and torch.is_grad_enabled():
        keep_c, keep_r = mc.detach() != 0, mr.detach() != 0
        policy_chosen_logps.register_hook(lambda g: torch.where(keep_c, g, torch.zeros_like(g)))
        policy_rejected_logps.register_hook(lambda g: torch.where(keep_r, g, torch.zeros_like(g)))
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
