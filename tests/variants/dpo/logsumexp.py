# A correct DPO: -log σ(x) as torch.logsumexp over a stacked [0, -x], masked sums by einsum.
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    c = torch.einsum("bt,bt->b", policy_chosen_logps - ref_chosen_logps, chosen_mask.to(dt))
    r = torch.einsum("bt,bt->b", policy_rejected_logps - ref_rejected_logps, rejected_mask.to(dt))
    x = beta * (c - r)
    loss = torch.logsumexp(torch.stack([torch.zeros_like(x), -x], dim=-1), dim=-1).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
