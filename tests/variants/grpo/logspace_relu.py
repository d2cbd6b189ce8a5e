# A correct GRPO loss: the ratio clipped in log space (the log-weight clamped to
# [log(1 - eps_low), log(1 + eps_high)]), min(a, b) written as a - relu(a - b), k3 through expm1.
import math
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages must be [{B}], got {tuple(advantages.shape)}")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 needs ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError(f"max_completion_length {max_completion_length} < T = {T}")
    m = mask.to(logps.dtype)
    cnt = m.sum(-1)
    A = advantages.detach()[:, None]
    lr = logps - old_logps.detach()
    lw = lr if importance_sampling_level == "token" else ((lr * m).sum(-1, keepdim=True) / cnt.clamp(min=1)[:, None])
    lo = math.log1p(-epsilon_low) if epsilon_low < 1 else None
    hi = math.log1p(epsilon_high)
    r, rc = lw.exp(), lw.clamp(min=lo, max=hi).exp()
    a_, b_ = r * A, rc * A
    obj = a_ - torch.relu(a_ - b_)  # min(a_, b_)
    per = (-obj).expand(B, T)
    mean_kl = logps.new_zeros(())
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        k3 = torch.expm1(d) - d
        per = per + beta * k3
        mean_kl = ((k3 * m).sum() / m.sum().clamp(min=1)).detach()
    if loss_type == "grpo":
        loss = ((per * m).sum(-1) / cnt.clamp(min=1)).sum() / B
    elif loss_type == "bnpo":
        loss = (per * m).sum() / m.sum().clamp(min=1)
    else:
        loss = (per * m).sum() / (B * (max_completion_length or T))
    clipped = (A * (r - rc) > 0).to(logps.dtype).expand(B, T)
    cf = ((clipped * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, cf
