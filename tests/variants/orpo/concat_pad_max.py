# A correct ORPO: TRL-style concatenated batch: both sides padded to max(Tc, Tr), stacked to [2B, T], reduced once and split.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    B = policy_chosen_logps.shape[0]
    T = max(policy_chosen_logps.shape[1], policy_rejected_logps.shape[1])
    dt = policy_chosen_logps.dtype

    def pad(x, value=0.0):
        return F.pad(x, (0, T - x.shape[1]), value=value)

    logps = torch.cat([pad(policy_chosen_logps), pad(policy_rejected_logps)], 0)
    mask = torch.cat([pad(chosen_mask.to(dt)), pad(rejected_mask.to(dt))], 0)
    sums = torch.einsum("bt,bt->b", logps, mask)
    counts = mask.sum(1)
    avg = sums / counts
    log1m = torch.log1p(-torch.exp(avg))
    log1m = torch.where(avg > -0.6931, torch.log(-torch.expm1(avg)), log1m)
    lo = avg - log1m
    x = lo[:B] - lo[B:]
    or_loss = F.softplus(-x).mean()
    nll = -sums[:B].sum() / counts[:B].sum()
    return nll + lam * or_loss, nll, or_loss
