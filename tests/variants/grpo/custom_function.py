# A correct GRPO loss whose clipped surrogate (token level) is a torch.autograd.Function with a
# hand-written backward (-A·ρ where the unclipped term is chosen, 0 where clipped), as fused kernels
# (Liger's) do; the KL and the reductions by autograd.
import torch


class _ClippedSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, log_w, A, lo, hi):
        r = log_w.exp()
        unc = r * A
        clp = r.clamp(lo, hi) * A
        use_unc = unc <= clp
        ctx.save_for_backward(r, A, use_unc)
        return -torch.where(use_unc, unc, clp)

    @staticmethod
    def backward(ctx, g):
        r, A, use_unc = ctx.saved_tensors
        grad = torch.where(use_unc, -A * r, torch.zeros_like(r)) * g
        # inside the band both terms are equal and carry the same gradient; where clamp is active the
        # clipped term is constant
        return grad, None, None, None


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
    if importance_sampling_level == "sequence":
        lw = (lr * m).sum(-1, keepdim=True) / cnt.clamp(min=1)[:, None]
    else:
        lw = lr
    per = _ClippedSurrogate.apply(lw, A.expand_as(lw).contiguous(), 1 - epsilon_low, 1 + epsilon_high).expand(B, T)
    mean_kl = logps.new_zeros(())
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        kl = d.exp() - d - 1
        per = per + beta * kl
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    if loss_type == "grpo":
        loss = ((per * m).sum(-1) / cnt.clamp(min=1)).mean()
    elif loss_type == "bnpo":
        loss = (per * m).sum() / m.sum().clamp(min=1)
    else:
        loss = (per * m).sum() / (B * (T if max_completion_length is None else max_completion_length))
    r = lw.exp()
    clipped = (((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))).to(logps.dtype).expand(B, T)
    return loss, mean_kl, ((clipped * m).sum() / m.sum().clamp(min=1)).detach()
