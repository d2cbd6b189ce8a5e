# A correct IPO: written with τ = 1/β and |h - τ/2| ** 2, counts by count_nonzero clamped with torch.maximum, float32 inside, cast back.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    tau = 1.0 / beta
    def avg(p, q, m):
        n = torch.maximum(torch.count_nonzero(m, dim=-1), torch.ones((), dtype=torch.long, device=m.device))
        return ((p.float() - q.float()) * m.float()).sum(-1) / n
    c = avg(policy_chosen_logps, ref_chosen_logps, chosen_mask)
    r = avg(policy_rejected_logps, ref_rejected_logps, rejected_mask)
    loss = ((c - r - tau / 2).abs() ** 2).mean()
    return loss.to(dt), (c / tau).detach().to(dt), (r / tau).detach().to(dt)
