# mistake: square applied per token instead of per sequence
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    # As in the course notebook: the log-ratio margin token by token, squared per token.
    pi_logratios = policy_chosen_logps - policy_rejected_logps
    ref_logratios = ref_chosen_logps - ref_rejected_logps
    logits = pi_logratios - ref_logratios
    constant = 1.0 / (beta * 2.0)
    mask = chosen_mask.float()
    losses = torch.square(logits - constant) * mask
    loss = (losses.sum(-1) / mask.sum(-1)).mean()
    mc, mr = chosen_mask.float(), rejected_mask.float()
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1).clamp(min=1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1).clamp(min=1)
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
