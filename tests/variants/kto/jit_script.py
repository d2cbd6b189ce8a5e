# The core in a torch.jit.script function, labels as a bool tensor, β and the weights as floats.
import torch


@torch.jit.script
def _core(r: torch.Tensor, z0: torch.Tensor, d: torch.Tensor, beta: float, wd: float, wu: float) -> torch.Tensor:
    good = wd * torch.sigmoid(-beta * (r - z0))
    bad = wu * torch.sigmoid(-beta * (z0 - r))
    return torch.where(d, good, bad).mean()


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).detach().mean().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    loss = _core(r, z0, desirable.bool(), float(beta), float(desirable_weight), float(undesirable_weight))
    return loss, (beta * r).detach(), z0
