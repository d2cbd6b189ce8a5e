# check: gradients
# named: nan_gradient
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    x = beta * (chosen - rejected)
    # log σ(x) ≈ x far below 0: guard the unstable branch.
    log_sig = torch.where(x > -30, torch.log(torch.sigmoid(x)), x)
    return -log_sig.mean(), (beta * chosen).detach(), (beta * rejected).detach()
