# mistake: log σ applied per token instead of per sequence
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    # As in many notebooks: the log-ratio difference token by token, log σ per token.
    pi_logratios = policy_chosen_logps - policy_rejected_logps
    ref_logratios = ref_chosen_logps - ref_rejected_logps
    logits = pi_logratios - ref_logratios
    mask = chosen_mask.float()
    losses = -F.logsigmoid(beta * logits) * mask
    loss = (losses.sum(-1) / mask.sum(-1)).mean()
    chosen = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask).sum(-1)
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
