# check: values
# WRONG: micro-batches of 64 rows, the loss a mean of micro-batch token means: rows past 64 weighted by their micro-batch, not their tokens
import torch


def _tmean(x, m):
    return (x * m).sum() / m.sum().clamp(min=1.0)


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    MICRO = 64
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m_all = mask.to(logps.dtype)
    pls, vls, cfs = [], [], []
    for s in range(0, logps.shape[0], MICRO):
        sl = slice(s, s + MICRO)
        m = m_all[sl]
        ratio = torch.exp(logps[sl] - old_logps[sl])
        u = -advantages[sl] * ratio
        c = -advantages[sl] * ratio.clamp(1 - clip_eps, 1 + clip_eps)
        pls.append(_tmean(torch.maximum(u, c), m))
        vc = old_values[sl] + (values[sl] - old_values[sl]).clamp(-value_clip_eps, value_clip_eps)
        vls.append(0.5 * _tmean(torch.maximum((values[sl] - returns[sl]) ** 2, (vc - returns[sl]) ** 2), m))
        cfs.append(_tmean((c > u).to(logps.dtype), m).detach())
    k = len(pls)
    policy_loss = torch.stack(pls).sum() / k
    value_loss = torch.stack(vls).sum() / k
    clip_fraction = torch.stack(cfs).sum() / k
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
