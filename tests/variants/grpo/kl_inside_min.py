# RIGHT: the KL folded into both branches of the pessimistic bound, -min(ρA - β·k3, clip(ρ)A - β·k3) (min(a+c, b+c) = min(a, b) + c), the mask applied with torch.where, the three reductions as one weighted sum
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if tuple(advantages.shape) != (B,):
        raise ValueError("advantages must be one per completion, shape [B]")
    if loss_type not in {"grpo", "bnpo", "dr_grpo"}:
        raise ValueError(f"loss_type must be grpo, bnpo or dr_grpo, not {loss_type!r}")
    if importance_sampling_level not in {"token", "sequence"}:
        raise ValueError(f"importance_sampling_level must be token or sequence, not {importance_sampling_level!r}")
    if ref_logps is None and beta > 0:
        raise ValueError("a KL penalty (beta > 0) needs ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length must be at least T")
    on = mask.bool()
    m = on.to(logps.dtype)
    n = m.sum(1, keepdim=True)  # [B, 1]
    A = advantages.detach().reshape(B, 1)
    lr = torch.where(on, logps - old_logps.detach(), torch.zeros_like(logps))
    if importance_sampling_level == "sequence":
        lr = (lr.sum(1, keepdim=True) / n.clamp(min=1)).expand(B, T)
    r = lr.exp()
    pen = torch.zeros_like(logps)
    mean_kl = logps.new_zeros(())
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        k3 = d.exp() - d - 1
        pen = beta * k3
        mean_kl = torch.where(on, k3, torch.zeros_like(k3)).sum().detach() / m.sum().clamp(min=1)
    per = -torch.minimum(r * A - pen, r.clamp(min=1 - epsilon_low, max=1 + epsilon_high) * A - pen)
    if loss_type == "grpo":
        weight = m / (n.clamp(min=1) * B)
    elif loss_type == "bnpo":
        weight = m / m.sum().clamp(min=1)
    else:
        weight = m / (B * (max_completion_length or T))
    loss = torch.where(on, per * weight, torch.zeros_like(per)).sum()
    hit = torch.where(A > 0, r > 1 + epsilon_high, torch.where(A < 0, r < 1 - epsilon_low, torch.zeros_like(on)))
    clip_fraction = (hit & on).sum().to(logps.dtype) / m.sum().clamp(min=1)
    return loss, mean_kl.detach(), clip_fraction.detach()
