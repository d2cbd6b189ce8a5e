# A correct DPO: float32 inside, log π and log π_ref summed separately then subtracted, the loss as -Bernoulli(logits=β·h).log_prob(1), cast back.
import torch
from torch.distributions import Bernoulli


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    f = lambda t, m: (t.float() * m.float()).sum(-1)  # noqa: E731
    c = f(policy_chosen_logps, chosen_mask) - f(ref_chosen_logps, chosen_mask)
    r = f(policy_rejected_logps, rejected_mask) - f(ref_rejected_logps, rejected_mask)
    x = beta * (c - r)
    loss = -Bernoulli(logits=x, validate_args=False).log_prob(torch.ones_like(x)).mean()
    return loss.to(dt), (beta * c).detach().to(dt), (beta * r).detach().to(dt)
