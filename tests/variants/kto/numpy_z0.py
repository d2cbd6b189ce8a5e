# RIGHT: z0 (a detached constant) computed in NumPy float64 from the KL pairs and brought back with torch.as_tensor(..., dtype, device); the loss as the sum over labels of weight·σ(-s·β·(r - z0)) / B via index_add_ into a [2] buffer
import numpy as np
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1, desirable_weight=1.0,
             undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("need at least one mismatched pair for z0")
    dt, dev = policy_logps.dtype, policy_logps.device
    gap = kl_policy_logps.detach().cpu().double().numpy() - kl_ref_logps.detach().cpu().double().numpy()
    z0 = torch.as_tensor(max(float(np.mean(gap)), 0.0), dtype=dt, device=dev)
    r = policy_logps - ref_logps.detach()
    lab = desirable.to(torch.bool).to(torch.long)  # 1 desirable, 0 undesirable
    s = lab.to(dt) * 2 - 1
    w = torch.where(lab.bool(), torch.full_like(r, desirable_weight), torch.full_like(r, undesirable_weight)).detach()
    per = w * torch.sigmoid(-s * beta * (r - z0))
    sums = torch.zeros(2, dtype=dt, device=dev).index_add(0, lab, per)
    return sums.sum() / r.shape[0], (beta * r).detach(), z0
