# RIGHT: the whole loss (either level, the KL, every reduction) is one autograd.Function with an analytic backward, GSPO's sequence ratio included (each token gets its completion's term over |o_i|)
import torch


class _GRPOFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, old_logps, ref_logps, adv, m, w, beta, lo, hi, sequence):
        lr = logps - old_logps
        n = m.sum(-1, keepdim=True).clamp(min=1)
        lw = (lr * m).sum(-1, keepdim=True) / n if sequence else lr
        r = lw.exp()
        A = adv[:, None]
        unc, clp = r * A, r.clamp(lo, hi) * A
        pg = -torch.minimum(unc, clp)
        keep = ~(((r > hi) & (A > 0)) | ((r < lo) & (A < 0)))
        value = (w * pg.expand_as(w)).sum()
        if sequence:
            g_pg = w.sum(-1, keepdim=True) * torch.where(keep, -unc, torch.zeros_like(unc)) * m / n
        else:
            g_pg = w * torch.where(keep, -unc, torch.zeros_like(unc))
        if ref_logps is not None:
            d = ref_logps - logps
            ed = d.exp()
            value = value + beta * (w * (ed - d - 1)).sum()
            g_pg = g_pg + beta * w * (1 - ed)
        ctx.save_for_backward(g_pg)
        return value

    @staticmethod
    def backward(ctx, g):
        (grad,) = ctx.saved_tensors
        return (g * grad if ctx.needs_input_grad[0] else None,) + (None,) * 9


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages must have shape ({B},)")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 requires ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length below T")
    m = mask.to(logps.dtype)
    if loss_type == "grpo":
        w = m / (B * m.sum(-1, keepdim=True).clamp(min=1))
    elif loss_type == "bnpo":
        w = m / m.sum().clamp(min=1)
    else:
        w = m / (B * (T if max_completion_length is None else max_completion_length))
    sequence = importance_sampling_level == "sequence"
    ref = None if ref_logps is None else ref_logps.detach()
    loss = _GRPOFn.apply(logps, old_logps.detach(), ref, advantages.detach(), m, w, float(beta),
                         1 - epsilon_low, 1 + epsilon_high, sequence)
    with torch.no_grad():
        total = m.sum().clamp(min=1)
        if ref is not None:
            d = ref - logps
            mean_kl = ((d.exp() - d - 1) * m).sum() / total
        else:
            mean_kl = logps.new_zeros(())
        lr = logps - old_logps
        lw = (lr * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1) if sequence else lr
        r = lw.exp()
        A = advantages[:, None]
        flags = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
        clip_fraction = (flags.to(logps.dtype).expand(B, T) * m).sum() / total
    return loss, mean_kl, clip_fraction
