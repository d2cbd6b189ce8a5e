# A correct GRPO loss, padding-free: tokens packed by boolean indexing, per-completion sums with
# index_add_ on segment ids, GSPO's weights gathered back with repeat_interleave.
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
    keep = mask.bool()
    lengths = keep.sum(-1)  # [B] int
    seg = torch.arange(B, device=logps.device).repeat_interleave(lengths)  # [N]
    N = int(lengths.sum())
    lp = logps[keep]
    lr = lp - old_logps.detach()[keep]
    A = advantages.detach()[seg]
    nseq = lengths.to(logps.dtype).clamp(min=1)
    if importance_sampling_level == "sequence":
        sums = logps.new_zeros(B).index_add(0, seg, lr)
        w = (sums / nseq)[seg]
    else:
        w = lr
    r = w.exp()
    pg = -torch.min(r * A, r.clamp(1 - epsilon_low, 1 + epsilon_high) * A)
    if ref_logps is not None:
        d = ref_logps.detach()[keep] - lp
        k3 = d.exp() - d - 1
        pg = pg + beta * k3
        mean_kl = (k3.sum() / max(N, 1)).detach()
    else:
        mean_kl = logps.new_zeros(())
    if loss_type == "grpo":
        per_seq = logps.new_zeros(B).index_add(0, seg, pg) / nseq
        loss = per_seq.mean()
    elif loss_type == "bnpo":
        loss = pg.sum() / max(N, 1)
    else:
        loss = pg.sum() / (B * (T if max_completion_length is None else max_completion_length))
    clipped = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
    return loss, mean_kl, (clipped.to(logps.dtype).sum() / max(N, 1)).detach()
