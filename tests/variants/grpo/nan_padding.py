# RIGHT: padding filled with NaN (torch.where) and every masked sum a nansum: no multiplication by the mask; comparisons with NaN are False, so the clip flags need no mask
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != torch.Size([B]):
        raise ValueError("advantages must have shape [B]")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"bad loss_type {loss_type!r}")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"bad importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 requires ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length < T")
    keep = mask != 0
    nan = torch.full_like(logps, float("nan"))
    hole = lambda x: torch.where(keep, x, nan)
    n = keep.sum(-1).to(logps.dtype)  # [B]
    N = n.sum()
    A = advantages.detach()[:, None]
    lr = hole(logps - old_logps.detach())
    if importance_sampling_level == "sequence":
        lr = hole((lr.nansum(-1) / n.clamp(min=1))[:, None].expand(B, T))
    r = lr.exp()
    per = -torch.min(r * A, r.clamp(1 - epsilon_low, 1 + epsilon_high) * A)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        k3 = hole(d.exp() - d - 1)
        per = per + beta * k3
        mean_kl = (k3.nansum() / N.clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    if loss_type == "grpo":
        loss = (per.nansum(-1) / n.clamp(min=1)).sum() / B
    elif loss_type == "bnpo":
        loss = per.nansum() / N.clamp(min=1)
    else:
        loss = per.nansum() / (B * (T if max_completion_length is None else max_completion_length))
    flags = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
    clip_fraction = (flags.sum().to(logps.dtype) / N.clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
