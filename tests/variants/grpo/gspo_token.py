# A correct GRPO loss whose "sequence" ratio is GSPO-token's form (Zheng et al. 2025, eq. 13):
# sg(s_i) · π(o_t) / sg(π(o_t)) at every token. Same values as s_i, and with one advantage per
# completion the same gradient, since each token's share of s_i's gradient is s_i / |o_i|.
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages: want shape ({B},), got {tuple(advantages.shape)}")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"loss_type: {loss_type!r} is not grpo, bnpo or dr_grpo")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"importance_sampling_level: {importance_sampling_level!r} is not token or sequence")
    if beta > 0 and ref_logps is None:
        raise ValueError("the KL term needs ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError(f"max_completion_length {max_completion_length} < T = {T}")
    m = mask.to(logps.dtype)
    n = m.sum(-1).clamp(min=1)
    A = advantages.detach()[:, None]
    log_ratio = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        s = torch.exp((log_ratio * m).sum(-1) / n)[:, None]  # [B, 1]
        ratio = s.detach() * torch.exp(logps - logps.detach())  # [B, T], each value s_i
    else:
        ratio = torch.exp(log_ratio)
    per_token = -torch.min(ratio * A, torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * A)
    mean_kl = logps.new_zeros(())
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = torch.exp(d) - d - 1
        per_token = per_token + beta * kl
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    if loss_type == "grpo":
        loss = ((per_token * m).sum(-1) / n).mean()
    elif loss_type == "bnpo":
        loss = (per_token * m).sum() / m.sum().clamp(min=1)
    else:
        loss = (per_token * m).sum() / (B * (T if max_completion_length is None else max_completion_length))
    clipped = ((ratio > 1 + epsilon_high) & (A > 0)) | ((ratio < 1 - epsilon_low) & (A < 0))
    clip_fraction = ((clipped.to(logps.dtype) * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
