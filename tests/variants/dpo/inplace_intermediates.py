# RIGHT: in-place ops on its own intermediates (mul_, neg_, div_) to save memory; inputs never written.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    c = torch.sub(policy_chosen_logps, ref_chosen_logps).mul_(chosen_mask.to(dt)).sum(-1)
    r = torch.sub(policy_rejected_logps, ref_rejected_logps).mul_(rejected_mask.to(dt)).sum(-1)
    h = c - r
    h.mul_(beta).neg_()  # -β·h
    loss = F.softplus(h).sum().div_(h.shape[0])
    c.mul_(beta)
    r.mul_(beta)
    return loss, c.detach(), r.detach()
