# A correct IPO with torch.where masks, torch.square and rewards computed under no_grad.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    def mean_logratio(policy, ref, mask):
        keep = mask.bool()
        total = torch.where(keep, policy - ref, torch.zeros_like(policy)).sum(dim=1)
        return total / keep.sum(dim=1).clamp(min=1)

    chosen = mean_logratio(policy_chosen_logps, ref_chosen_logps, chosen_mask)
    rejected = mean_logratio(policy_rejected_logps, ref_rejected_logps, rejected_mask)
    tau = beta  # the paper's τ
    loss = torch.square(chosen - rejected - 0.5 / tau).mean()
    with torch.no_grad():
        return loss, beta * chosen, beta * rejected
