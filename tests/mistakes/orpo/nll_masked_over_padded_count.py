# mistake: NLL over the prompt and padding
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll_loss = -(policy_chosen_logps * mc).mean()  # masked, but divided by B·Tc, not by the token count
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    log_odds = (chosen - torch.log(-torch.expm1(chosen))) - (rejected - torch.log(-torch.expm1(rejected)))
    or_loss = -F.logsigmoid(log_odds).mean()
    return nll_loss + lam * or_loss, nll_loss, or_loss
