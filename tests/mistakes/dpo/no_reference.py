# mistake: reference log-ratio ignored
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    pi_c = (policy_chosen_logps * chosen_mask).sum(-1)
    pi_r = (policy_rejected_logps * rejected_mask).sum(-1)
    loss = -F.logsigmoid(beta * (pi_c - pi_r)).mean()
    chosen = pi_c - (ref_chosen_logps * chosen_mask).sum(-1)
    rejected = pi_r - (ref_rejected_logps * rejected_mask).sum(-1)
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
