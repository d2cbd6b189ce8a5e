# RIGHT: the clipped surrogate in log space with the advantage's sign split out: A > 0 gives -exp(log A + min(log ρ, log1p(ε_high))), A < 0 gives exp(log|A| + max(log ρ, log1p(-ε_low))), A = 0 gives 0; k3 as expm1(d) - d; reductions as per-token weights
import math
import torch
from torch import Tensor


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if tuple(advantages.shape) != (B,):
        raise ValueError(f"advantages must be [B]={B}, got {tuple(advantages.shape)}")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 requires ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length < T")
    dt = logps.dtype
    m = mask.to(dt)
    n_row = m.sum(-1)
    n_all = m.sum()
    lr = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        lw = ((lr * m).sum(-1) / n_row.clamp(min=1)).unsqueeze(1).expand(B, T)
    else:
        lw = lr
    a = advantages.detach().unsqueeze(1).expand(B, T)
    log_abs_a = a.abs().log()  # -inf where A = 0
    hi, lo = math.log1p(epsilon_high), math.log1p(-epsilon_low)
    pos = -torch.exp(log_abs_a + torch.clamp(lw, max=hi))
    neg = torch.exp(log_abs_a + torch.clamp(lw, min=lo))
    zero = torch.zeros_like(lw)
    per_token = torch.where(a > 0, pos, torch.where(a < 0, neg, zero))
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        k3 = torch.expm1(d) - d
        per_token = per_token + beta * k3
        mean_kl = ((k3 * m).sum() / n_all.clamp(min=1)).detach()
    else:
        mean_kl = torch.zeros((), dtype=dt, device=logps.device)
    if loss_type == "grpo":
        w = m / (n_row.clamp(min=1) * B).unsqueeze(1)
    elif loss_type == "bnpo":
        w = m / n_all.clamp(min=1)
    else:
        w = m / (B * (T if max_completion_length is None else max_completion_length))
    loss = (per_token * w).sum()
    flags = ((lw > hi) & (a > 0)) | ((lw < lo) & (a < 0))
    clip_fraction = ((flags.to(dt) * m).sum() / n_all.clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
