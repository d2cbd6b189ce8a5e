# check: values
# WRONG: rows reduced in micro-batches of 8 and the micro-batch losses weighted by their share of rows: under "bnpo" a row-weighted mean of token means, not one token mean over the batch (no bnpo case had B > 8)
import torch

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
LEVELS = ("token", "sequence")
MICRO_BATCH = 8


def _reduce(per_token, m, loss_type, L):
    b = per_token.shape[0]
    if loss_type == "grpo":
        return ((per_token * m).sum(-1) / m.sum(-1).clamp(min=1)).mean()
    if loss_type == "bnpo":
        return (per_token * m).sum() / m.sum().clamp(min=1)
    return (per_token * m).sum() / (b * L)


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
    L = T if max_completion_length is None else max_completion_length
    m = mask.to(logps.dtype)
    count = m.sum(-1)
    adv = advantages.detach().unsqueeze(1)
    log_ratio = logps - old_logps.detach()
    if importance_sampling_level == "token":
        log_w = log_ratio
    else:
        log_w = ((log_ratio * m).sum(-1) / count.clamp(min=1)).unsqueeze(1)
    ratio = torch.exp(log_w)
    per_token = -torch.min(ratio * adv, ratio.clamp(1 - epsilon_low, 1 + epsilon_high) * adv).expand(B, T)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = torch.exp(d) - d - 1
        per_token = per_token + beta * kl
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    # micro-batches, accumulated as a trainer accumulates gradients: each scaled by its share of the samples
    loss = logps.new_zeros(())
    for start in range(0, B, MICRO_BATCH):
        sl = slice(start, start + MICRO_BATCH)
        rows = per_token[sl].shape[0]
        loss = loss + _reduce(per_token[sl], m[sl], loss_type, L) * (rows / B)
    clipped = ((ratio > 1 + epsilon_high) & (adv > 0)) | ((ratio < 1 - epsilon_low) & (adv < 0))
    clip_fraction = ((clipped.to(logps.dtype).expand(B, T) * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
