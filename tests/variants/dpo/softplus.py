# A correct DPO with softplus instead of logsigmoid and torch.where masks.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    def seq(lp, m):
        return torch.where(m.bool(), lp, torch.zeros_like(lp)).sum(dim=1)

    chosen = seq(policy_chosen_logps, chosen_mask) - seq(ref_chosen_logps, chosen_mask)
    rejected = seq(policy_rejected_logps, rejected_mask) - seq(ref_rejected_logps, rejected_mask)
    loss = F.softplus(-beta * (chosen - rejected)).mean()
    with torch.no_grad():
        return loss, beta * chosen, beta * rejected
