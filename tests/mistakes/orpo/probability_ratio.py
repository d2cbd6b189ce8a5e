# mistake: probabilities' ratio instead of odds
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll_loss = -(policy_chosen_logps * mc).sum() / mc.sum()
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    # log(P_c / P_r): a probability ratio, not an odds ratio.
    or_loss = -F.logsigmoid(chosen - rejected).mean()
    return nll_loss + lam * or_loss, nll_loss, or_loss
