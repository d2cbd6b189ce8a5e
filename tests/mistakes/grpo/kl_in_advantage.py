# mistake: KL folded into the advantage
import torch

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
LEVELS = ("token", "sequence")


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages must have shape [{B}], got {list(advantages.shape)}")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if importance_sampling_level not in LEVELS:
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 needs ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError(f"max_completion_length {max_completion_length} < T = {T}")
    
    m = mask.to(logps.dtype)
    count = m.sum(-1)
    adv = advantages.detach().unsqueeze(1)
    log_ratio = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        log_w = ((log_ratio * m).sum(-1) / count.clamp(min=1)).unsqueeze(1)
    else:
        log_w = log_ratio
    ratio = torch.exp(log_w)
    clipped_ratio = ratio.clamp(1 - epsilon_low, 1 + epsilon_high)
    if ref_logps is not None:
        d0 = (ref_logps - logps).detach()
        adv = adv - beta * (torch.exp(d0) - d0 - 1)  # KL-shaped reward, per token
    per_token = -torch.min(ratio * adv, clipped_ratio * adv).expand(B, T)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = torch.exp(d) - d - 1
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    if loss_type == "grpo":
        loss = ((per_token * m).sum(-1) / count.clamp(min=1)).mean()
    elif loss_type == "bnpo":
        loss = (per_token * m).sum() / m.sum().clamp(min=1)
    else:
        L = T if max_completion_length is None else max_completion_length
        loss = (per_token * m).sum() / (B * L)
    clipped = ((ratio > 1 + epsilon_high) & (adv > 0)) | ((ratio < 1 - epsilon_low) & (adv < 0))
    clipped = ((ratio > 1 + epsilon_high) & (advantages.detach()[:, None] > 0)) | ((ratio < 1 - epsilon_low) & (advantages.detach()[:, None] < 0))
    clip_fraction = ((clipped.to(logps.dtype).expand(B, T) * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
