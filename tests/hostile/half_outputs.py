# kata: dpo
# The right values, returned in float16: a dtype the grader has no case in (its own checks
# compare the submission's outputs with each other in it).
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(policy_chosen_logps.dtype)).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(policy_rejected_logps.dtype)).sum(-1)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss.half(), (beta * c).detach().half(), (beta * r).detach().half()
