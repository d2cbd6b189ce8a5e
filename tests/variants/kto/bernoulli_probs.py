# RIGHT: each example's 1 - σ(x) as torch.distributions.Bernoulli(logits=-x).probs, the label's sign and weight gathered from [2]-tensors indexed by the label as long, z0 through torch.clamp_min on a float64 mean
import torch
from torch.distributions import Bernoulli


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1, desirable_weight=1.0,
             undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty KL inputs")
    dt = policy_logps.dtype
    z0 = torch.clamp_min((kl_policy_logps.detach().double() - kl_ref_logps.detach().double()).mean(), 0.0).to(dt)
    r = policy_logps - ref_logps.detach()
    idx = desirable.bool().long()  # 0 undesirable, 1 desirable
    sign = torch.tensor([-1.0, 1.0], dtype=dt, device=r.device)[idx]
    weight = torch.tensor([undesirable_weight, desirable_weight], dtype=dt, device=r.device)[idx]
    x = sign * beta * (r - z0)  # the margin in the label's direction
    losses = weight * Bernoulli(logits=-x, validate_args=False).probs
    return losses.mean(), (beta * r).detach(), z0
