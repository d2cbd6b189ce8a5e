# A correct GRPO loss: each completion's token sums from a per-row function vectorised with
# torch.func.vmap, then combined per loss_type.
import torch
from torch.func import vmap


def _row(lp, olp, ref, a, m, beta, el, eh, seq):
    lr = lp - olp
    n = m.sum()
    if seq:
        w = (lr * m).sum() / torch.clamp(n, min=1.0)
        lr = w.expand_as(lp)
    r = lr.exp()
    rc = r.clamp(1 - el, 1 + eh)
    pg = -torch.minimum(r * a, rc * a)
    d = ref - lp
    k3 = d.exp() - d - 1
    per = pg + beta * k3
    clipped = (((r > 1 + eh) & (a > 0)) | ((r < 1 - el) & (a < 0))).to(lp.dtype)
    return (per * m).sum(), n, (k3 * m).sum(), (clipped * m).sum()


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
    has_ref = ref_logps is not None
    ref = ref_logps.detach() if has_ref else logps.detach()
    b = beta if has_ref else 0.0
    s, n, ks, cs = vmap(_row, in_dims=(0, 0, 0, 0, 0, None, None, None, None))(
        logps, old_logps.detach(), ref, advantages.detach(), m, b, epsilon_low, epsilon_high,
        importance_sampling_level == "sequence")
    total = n.sum().clamp(min=1)
    if loss_type == "grpo":
        loss = (s / n.clamp(min=1)).mean()
    elif loss_type == "bnpo":
        loss = s.sum() / total
    else:
        loss = s.sum() / (B * (T if max_completion_length is None else max_completion_length))
    mean_kl = (ks.sum() / total).detach() if has_ref else logps.new_zeros(())
    return loss, mean_kl, (cs.sum() / total).detach()
