# Labels as a one-hot [B, 2] matrix, the two per-label losses stacked [B, 2] and reduced with einsum against it and a weight vector; z0 as a dot product with 1/K.
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    K = kl_policy_logps.shape[0]
    if K == 0 or kl_ref_logps.shape[0] == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must hold at least one pair each")
    diff = (kl_policy_logps - kl_ref_logps).detach()
    z0 = torch.dot(diff, torch.full_like(diff, 1.0 / K)).clamp(min=0)
    r = policy_logps - ref_logps.detach()
    labels = torch.nn.functional.one_hot((desirable == 0).long(), 2).to(r.dtype)  # col 0: desirable
    margins = torch.stack((r - z0, z0 - r), dim=-1)  # [B, 2]
    per_label = torch.sigmoid(-beta * margins)
    w = torch.tensor([desirable_weight, undesirable_weight], dtype=r.dtype, device=r.device)
    loss = torch.einsum("bk,bk,k->", labels, per_label, w) / r.shape[0]
    return loss, (beta * r).detach(), z0
