# RIGHT: the token-weighted NLL as (mean over rows of each row's -sum) / (mean over rows of each row's count), which equals total -sum / total count; the OR term via F.binary_cross_entropy_with_logits against ones.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    row_sum = (policy_chosen_logps * mc).sum(-1)
    row_n = mc.sum(-1)
    nll = -row_sum.mean() / row_n.mean()
    c = row_sum / row_n
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    x = (c - torch.log1p(-torch.exp(c))) - (r - torch.log1p(-torch.exp(r)))
    or_loss = F.binary_cross_entropy_with_logits(x, torch.ones_like(x))
    return torch.lerp(nll, nll + or_loss, torch.tensor(float(lam), dtype=nll.dtype)), nll, or_loss
