# A correct GRPO loss that computes in float32 whatever the inputs' dtype and casts back.
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    dtype = logps.dtype
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError("advantages: expected shape [B]")
    if loss_type not in ("grpo", "bnpo", "dr_grpo") or importance_sampling_level not in ("token", "sequence"):
        raise ValueError("unknown option")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 without ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length below T")
    lp = logps.float()
    m = mask.float()
    A = advantages.detach().float().view(B, 1)
    log_w = lp - old_logps.detach().float()
    if importance_sampling_level == "sequence":
        log_w = (log_w * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(min=1.0)
    w = log_w.exp()
    pg = torch.maximum(-w * A, -w.clamp(1 - epsilon_low, 1 + epsilon_high) * A)
    per_token = pg.expand(B, T)
    mean_kl = torch.zeros((), dtype=dtype, device=logps.device)
    tokens = m.sum().clamp(min=1.0)
    if ref_logps is not None:
        d = ref_logps.detach().float() - lp
        kl = d.exp() - d - 1.0
        per_token = per_token + beta * kl
        mean_kl = ((kl * m).sum() / tokens).detach().to(dtype)
    if loss_type == "grpo":
        loss = ((per_token * m).sum(1) / m.sum(1).clamp(min=1.0)).mean()
    elif loss_type == "bnpo":
        loss = (per_token * m).sum() / tokens
    else:
        loss = (per_token * m).sum() / (B * (max_completion_length if max_completion_length is not None else T))
    clipped = ((w > 1 + epsilon_high) & (A > 0)) | ((w < 1 - epsilon_low) & (A < 0))
    clip_fraction = ((clipped.float().expand(B, T) * m).sum() / tokens).to(dtype)
    return loss.to(dtype), mean_kl, clip_fraction
