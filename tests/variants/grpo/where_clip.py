# A correct GRPO loss that writes the clip as torch.where on the advantage's sign (the min of
# the two surrogates picks the clipped one exactly when the ratio left the range that way).
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if tuple(advantages.shape) != (B,):
        raise ValueError(f"advantages should be [{B}], got {tuple(advantages.shape)}")
    if loss_type not in {"grpo", "bnpo", "dr_grpo"} or importance_sampling_level not in {"token", "sequence"}:
        raise ValueError("unknown loss_type or importance_sampling_level")
    if ref_logps is None and beta > 0:
        raise ValueError("ref_logps is needed when beta > 0")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length must be at least T")
    keep = mask.bool()
    m = keep.to(logps.dtype)
    a = advantages.detach().unsqueeze(-1).expand(B, T)
    lr = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        lr = (torch.where(keep, lr, torch.zeros_like(lr)).sum(-1, keepdim=True)
              / m.sum(-1, keepdim=True).clamp(min=1)).expand(B, T)
    rho = lr.exp()
    high = (rho > 1 + epsilon_high) & (a > 0)
    low = (rho < 1 - epsilon_low) & (a < 0)
    bound = torch.where(high, torch.full_like(rho, 1 + epsilon_high), torch.full_like(rho, 1 - epsilon_low))
    surrogate = torch.where(high | low, bound * a, rho * a)
    loss_t = -surrogate
    kl = torch.zeros_like(logps)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = d.exp() - d - 1
        loss_t = loss_t + beta * kl
    loss_t = torch.where(keep, loss_t, torch.zeros_like(loss_t))
    n_tokens = m.sum().clamp(min=1)
    if loss_type == "grpo":
        loss = (loss_t.sum(1) / m.sum(1).clamp(min=1)).sum() / B
    elif loss_type == "bnpo":
        loss = loss_t.sum() / n_tokens
    else:
        loss = loss_t.sum() / (B * (T if max_completion_length is None else max_completion_length))
    mean_kl = (torch.where(keep, kl, torch.zeros_like(kl)).sum() / n_tokens).detach()
    clip_fraction = ((high | low) & keep).to(logps.dtype).sum().detach() / n_tokens
    return loss, mean_kl, clip_fraction
