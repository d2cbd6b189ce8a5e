# mistake: naive p/(1-p) that overflows or underflows
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll_loss = -(policy_chosen_logps * mc).sum() / mc.sum()
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)

    def odds(logp):  # as in the notes: exp(logp) / (1 - exp(logp))
        return torch.exp(logp) / (1 - torch.exp(logp))

    or_loss = -F.logsigmoid(torch.log(odds(chosen) / odds(rejected))).mean()
    return nll_loss + lam * or_loss, nll_loss, or_loss
