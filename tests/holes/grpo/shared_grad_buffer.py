# check: gradients
# WRONG: a fused autograd.Function writes its gradient into a module-level buffer reused by every call: two losses built before one backward both get the last call's gradient
import torch

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
LEVELS = ("token", "sequence")
_WORKSPACE = {}  # (shape, dtype, device) -> gradient buffer, reused to avoid allocations


class _FusedSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, old_logps, adv, w, eps_low, eps_high, sequence):
        # w: [B, T] reduction weights (mask / normaliser); returns sum(w * -min(rA, clip(r)A)) and stores d/dlogps
        lr = logps - old_logps
        m = (w != 0).to(logps.dtype)
        if sequence:
            n = m.sum(-1, keepdim=True).clamp(min=1)
            log_w = (lr * m).sum(-1, keepdim=True) / n
        else:
            log_w = lr
        r = log_w.exp()
        A = adv[:, None]
        unc = r * A
        clp = r.clamp(1 - eps_low, 1 + eps_high) * A
        value = (-torch.minimum(unc, clp)).expand_as(w)
        loss = (w * value).sum()
        active = (unc <= clp).to(logps.dtype)
        if sequence:
            grad = (w.sum(-1, keepdim=True) * -(unc * active)) * m / n
        else:
            grad = w * -(unc * active)
        key = (tuple(logps.shape), logps.dtype, logps.device)
        buf = _WORKSPACE.get(key)
        if buf is None:
            buf = _WORKSPACE[key] = torch.empty_like(logps, memory_format=torch.contiguous_format)
        buf.copy_(grad)
        ctx.key = key
        return loss

    @staticmethod
    def backward(ctx, g):
        grad = g * _WORKSPACE[ctx.key] if ctx.needs_input_grad[0] else None
        return grad, None, None, None, None, None, None


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
    if loss_type == "grpo":
        w = m / (B * count.clamp(min=1))[:, None]
    elif loss_type == "bnpo":
        w = m / m.sum().clamp(min=1)
    else:
        w = m / (B * (T if max_completion_length is None else max_completion_length))
    sequence = importance_sampling_level == "sequence"
    adv = advantages.detach()
    loss = _FusedSurrogate.apply(logps, old_logps.detach(), adv, w, epsilon_low, epsilon_high, sequence)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = torch.exp(d) - d - 1
        loss = loss + beta * (w * kl).sum()
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    with torch.no_grad():
        lr = logps - old_logps
        log_w = (lr * m).sum(-1, keepdim=True) / count.clamp(min=1)[:, None] if sequence else lr
        r = log_w.exp()
        A = adv[:, None]
        clipped = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
        clip_fraction = (clipped.to(logps.dtype).expand(B, T) * m).sum() / m.sum().clamp(min=1)
    return loss, mean_kl, clip_fraction
