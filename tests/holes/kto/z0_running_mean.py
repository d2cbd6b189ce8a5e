# check: values
# WRONG: z0 is a running mean of the KL estimates of every call so far (state kept across calls), not this batch's
import torch

_STATE = {"n": 0, "mean": 0.0}


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    batch_kl = float((kl_policy_logps - kl_ref_logps).mean())
    _STATE["n"] += 1
    _STATE["mean"] += (batch_kl - _STATE["mean"]) / _STATE["n"]
    z0 = policy_logps.new_tensor(max(0.0, _STATE["mean"]))
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
