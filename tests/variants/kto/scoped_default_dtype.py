# RIGHT: the computation runs with torch's default dtype set to float64 inside a try/finally (restored on every path, the ValueError's included); scalars made with torch.tensor(...) are float64, everything cast back to the inputs' dtype
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1, desirable_weight=1.0,
             undesirable_weight=1.0):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
            raise ValueError("kl_policy_logps and kl_ref_logps must be non-empty")
        dt = policy_logps.dtype
        gap = kl_policy_logps.detach().to(torch.get_default_dtype()) - kl_ref_logps.detach().to(torch.get_default_dtype())
        z0 = torch.maximum(gap.mean(), torch.tensor(0.0))
        r = policy_logps.to(torch.get_default_dtype()) - ref_logps.detach().to(torch.get_default_dtype())
        d = desirable.bool()
        s = torch.where(d, torch.tensor(1.0), torch.tensor(-1.0))
        w = torch.where(d, torch.tensor(float(desirable_weight)), torch.tensor(float(undesirable_weight)))
        losses = w * torch.sigmoid(-s * beta * (r - z0))
        return losses.mean().to(dt), (beta * r).detach().to(dt), z0.to(dt)
    finally:
        torch.set_default_dtype(prev)
