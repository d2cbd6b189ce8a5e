# check: values
# named: the mean over the non-zero log-probs (a token predicted with certainty has log-prob exactly 0) instead of the mean over the response tokens (count clamped to 1)
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    rc = (policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(policy_chosen_logps.dtype)
    rr = (policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(policy_rejected_logps.dtype)
    chosen = rc.sum(-1) / (rc != 0).sum(-1).clamp(min=1)  # tokens that contribute
    rejected = rr.sum(-1) / (rr != 0).sum(-1).clamp(min=1)
    loss = ((chosen - rejected - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
