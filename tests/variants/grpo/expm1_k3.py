# A correct GRPO loss with k3 in log space through expm1 (accurate for tiny d), the ratio's
# clip as two one-sided clamps, and a custom masked_mean helper like TRL's.
import torch


def masked_mean(x, m, dim=None):
    if dim is None:
        return (x * m).sum() / m.sum().clamp(min=1)
    return (x * m).sum(dim) / m.sum(dim).clamp(min=1)


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.ndim != 1 or len(advantages) != B:
        raise ValueError(f"advantages must be one per completion, [B]={B}")
    if beta > 0 and ref_logps is None:
        raise ValueError("ref_logps is None but beta > 0")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"importance_sampling_level {importance_sampling_level!r}")
    if loss_type == "dr_grpo":
        norm = B * (T if max_completion_length is None else max_completion_length)
    elif loss_type not in ("grpo", "bnpo"):
        raise ValueError(f"loss_type {loss_type!r}")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length < T")
    m = mask.to(logps.dtype)
    adv = advantages.detach().reshape(B, 1)
    log_ratio = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        log_ratio = masked_mean(log_ratio, m, -1).unsqueeze(-1)
    coef_1 = torch.exp(log_ratio)
    coef_2 = coef_1.clamp(min=1 - epsilon_low).clamp(max=1 + epsilon_high)
    per_token_loss = -torch.min(coef_1 * adv, coef_2 * adv)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        per_token_kl = torch.expm1(d) - d
        if beta != 0:
            per_token_loss = per_token_loss + beta * per_token_kl
        mean_kl = masked_mean(per_token_kl, m).detach()
    else:
        mean_kl = logps.new_zeros(())
    per_token_loss = per_token_loss.expand(B, T)
    if loss_type == "grpo":
        loss = masked_mean(per_token_loss, m, -1).mean()
    elif loss_type == "bnpo":
        loss = masked_mean(per_token_loss, m)
    else:
        loss = (per_token_loss * m).sum() / norm
    region = ((coef_1 > 1 + epsilon_high) & (adv > 0)) | ((coef_1 < 1 - epsilon_low) & (adv < 0))
    clip_fraction = masked_mean(region.to(logps.dtype).expand(B, T), m).detach()
    return loss, mean_kl, clip_fraction
