# RIGHT: 1 - σ(x) as softmax([x, 0])[1] over a stacked [B, 2] pair, the margin's sign picked by label with torch.where, per-label sums accumulated with index_add_ into a [2] buffer and divided by B
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if min(kl_policy_logps.numel(), kl_ref_logps.numel()) == 0:
        raise ValueError("z0 is the mean log-ratio of the mismatched pairs; got an empty kl input")
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).sum() / kl_policy_logps.numel()
    z0 = torch.where(z0 > 0, z0, torch.zeros_like(z0))
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    x = beta * torch.where(d, r - z0, z0 - r)  # [B] the margin each example wants positive
    pair = torch.stack([x, torch.zeros_like(x)], dim=-1)  # [B, 2]
    one_minus_sigma = torch.softmax(pair, dim=-1)[:, 1]  # e^0 / (e^x + e^0) = 1 - σ(x)
    w = torch.where(d, torch.full_like(r, desirable_weight), torch.full_like(r, undesirable_weight))
    per_label = torch.zeros(2, dtype=r.dtype, device=r.device).index_add(0, d.long(), w * one_minus_sigma)
    loss = per_label.sum() / r.shape[0]
    return loss, (beta * r).detach(), z0
