# RIGHT: each loss as exp(-logaddexp(0, x)) (log-space 1 - σ), z0 as relu of a dot product with a 1/K vector, the mean as a dot product with a weight vector / B, computed in float64 inside and cast back
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.shape[0] == 0 or kl_ref_logps.shape[0] == 0:
        raise ValueError("no mismatched (prompt, completion) pairs: kl_policy_logps and kl_ref_logps must be non-empty")
    dtype, f = policy_logps.dtype, torch.float64
    k = kl_policy_logps.shape[0]
    gaps = (kl_policy_logps.detach() - kl_ref_logps.detach()).to(f)
    z0 = torch.relu(torch.dot(gaps, torch.full((k,), 1.0 / k, dtype=f)))
    r = policy_logps.to(f) - ref_logps.detach().to(f)
    d = desirable != 0
    x = torch.where(d, beta * (r - z0), beta * (z0 - r))
    losses = torch.exp(-torch.logaddexp(torch.zeros_like(x), x))
    w = torch.where(d, desirable_weight, undesirable_weight).to(f)
    loss = torch.dot(w, losses) / r.shape[0]
    return loss.to(dtype), (beta * r).detach().to(dtype), z0.to(dtype)
