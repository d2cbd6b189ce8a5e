# A correct DPO: -log σ(β·h) as β·F.softplus(-h, beta=β) (torch's own softplus β), torch.where masks.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = torch.where(chosen_mask.bool(), policy_chosen_logps - ref_chosen_logps, 0.0).sum(-1)
    r = torch.where(rejected_mask.bool(), policy_rejected_logps - ref_rejected_logps, 0.0).sum(-1)
    loss = (beta * F.softplus(r - c, beta=beta)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
