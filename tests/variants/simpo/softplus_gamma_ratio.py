# A correct SimPO written as TRL does: β·(Δ - γ/β), softplus instead of logsigmoid, torch.where masks.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    def avg(lp, m):
        keep = m.bool()
        return torch.where(keep, lp, torch.zeros_like(lp)).sum(dim=1) / keep.sum(dim=1).clamp(min=1)

    chosen, rejected = avg(policy_chosen_logps, chosen_mask), avg(policy_rejected_logps, rejected_mask)
    gamma_logratio = gamma / beta
    loss = F.softplus(-beta * (chosen - rejected - gamma_logratio)).mean()
    with torch.no_grad():
        return loss, beta * chosen, beta * rejected
