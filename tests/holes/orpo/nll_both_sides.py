# check: values
# WRONG: the NLL taken over every response token of the concatenated [chosen; rejected] batch (TRL's concatenated_forward without slicing to the chosen half), not the chosen only.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    t = max(mc.shape[1], mr.shape[1])
    lp = torch.cat([F.pad(policy_chosen_logps, (0, t - mc.shape[1])), F.pad(policy_rejected_logps, (0, t - mr.shape[1]))])
    m = torch.cat([F.pad(mc, (0, t - mc.shape[1])), F.pad(mr, (0, t - mr.shape[1]))])
    nll = -(lp * m).sum() / m.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    lo = lambda x: x - torch.log(-torch.expm1(x))
    or_loss = -F.logsigmoid(lo(c) - lo(r)).mean()
    return nll + lam * or_loss, nll, or_loss
