# A Python loop over examples with 0-d tensors, each loss as w - w·σ(margin) (λ_y - v of eq. 7); z0 from a loop sum over the K pairs and a Python `if z0 < 0`.
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    K = len(kl_policy_logps)
    if K == 0 or len(kl_ref_logps) == 0:
        raise ValueError("kl inputs are empty")
    acc = kl_policy_logps.new_zeros(())
    for k in range(K):
        acc = acc + (kl_policy_logps[k].detach() - kl_ref_logps[k].detach())
    z0 = acc / K
    if z0 < 0:
        z0 = torch.zeros_like(z0)
    B = len(policy_logps)
    total, rewards = None, []
    for i in range(B):
        r = policy_logps[i] - ref_logps[i].detach()
        rewards.append(beta * r.detach())
        if desirable[i]:
            v = desirable_weight * torch.sigmoid(beta * (r - z0))
            term = desirable_weight - v
        else:
            v = undesirable_weight * torch.sigmoid(beta * (z0 - r))
            term = undesirable_weight - v
        total = term if total is None else total + term
    return total / B, torch.stack(rewards), z0
