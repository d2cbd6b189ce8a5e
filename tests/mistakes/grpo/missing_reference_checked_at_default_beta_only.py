# mistake: bad input accepted
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"unknown loss_type {loss_type}")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level}")
    if beta >= 0.04 and ref_logps is None:  # only at the default beta
        raise ValueError("beta > 0 needs ref_logps")
    if advantages.shape != (B,):
        raise ValueError(f"advantages must have shape ({B},), got {tuple(advantages.shape)}")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length may not be below T")
    m = mask.to(logps.dtype)
    A = advantages.detach()[:, None]
    log_ratio = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        log_ratio = ((log_ratio * m).sum(-1) / m.sum(-1).clamp(min=1))[:, None]
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    per_token = -torch.min(ratio * A, clipped * A)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = torch.exp(d) - d - 1
        per_token = per_token + beta * kl
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    per_token = per_token * m
    if loss_type == "grpo":
        loss = (per_token.sum(-1) / m.sum(-1).clamp(min=1)).mean()
    elif loss_type == "bnpo":
        loss = per_token.sum() / m.sum().clamp(min=1)
    else:
        loss = per_token.sum() / (B * (max_completion_length or T))
    is_clipped = ((ratio > 1 + epsilon_high) & (A > 0)) | ((ratio < 1 - epsilon_low) & (A < 0))
    clip_fraction = ((is_clipped * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
