# One expression for both labels through 1 - σ(x) = (1 - tanh(x/2))/2 with a ±1 sign built as 2·d - 1; z0 as relu(mean(kl_policy) - mean(kl_ref)).
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("z0 needs at least one mismatched pair: kl_* inputs are empty")
    z0 = torch.relu(kl_policy_logps.detach().mean() - kl_ref_logps.detach().mean())
    r = policy_logps - ref_logps.detach()
    d = (desirable != 0).to(r.dtype)
    s = 2 * d - 1
    w = undesirable_weight + (desirable_weight - undesirable_weight) * d
    losses = 0.5 * w * (1 - torch.tanh(0.5 * beta * s * (r - z0)))
    return losses.sum() / r.shape[0], beta * r.detach(), z0
