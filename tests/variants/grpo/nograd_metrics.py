# A correct GRPO loss: the metrics under torch.no_grad() from bool masks, padding removed with
# torch.where (not a product), the options checked through a dict, a namedtuple returned.
from collections import namedtuple
import torch

Out = namedtuple("Out", "loss mean_kl clip_fraction")
_REDUCE = {
    "grpo": lambda x, keep, n_row, B, L: (x.sum(-1) / n_row.clamp(min=1)).mean(),
    "bnpo": lambda x, keep, n_row, B, L: x.sum() / n_row.sum().clamp(min=1),
    "dr_grpo": lambda x, keep, n_row, B, L: x.sum() / (B * L),
}


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if tuple(advantages.shape) != (B,):
        raise ValueError(f"advantages: expected shape ({B},), got {tuple(advantages.shape)}")
    if not isinstance(loss_type, str) or loss_type not in _REDUCE:
        raise ValueError(f"loss_type must be one of {sorted(_REDUCE)}, got {loss_type!r}")
    if importance_sampling_level not in ("token", "sequence") or not isinstance(importance_sampling_level, str):
        raise ValueError(f"importance_sampling_level must be 'token' or 'sequence', got {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("ref_logps is required when beta > 0")
    L = T if max_completion_length is None else max_completion_length
    if L < T:
        raise ValueError(f"max_completion_length={L} is shorter than the completions (T={T})")
    keep = mask.bool() if mask.dtype != torch.bool else mask
    n_row = keep.sum(-1).to(logps.dtype)
    zero = torch.zeros((), dtype=logps.dtype, device=logps.device)
    A = advantages.detach().unsqueeze(-1)
    lr = torch.where(keep, logps - old_logps.detach(), zero)
    if importance_sampling_level == "sequence":
        lr = (lr.sum(-1, keepdim=True) / n_row.clamp(min=1).unsqueeze(-1)).expand(B, T)
    r = lr.exp()
    pg = -torch.minimum(r * A, r.clamp(1 - epsilon_low, 1 + epsilon_high) * A)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        k3 = d.exp() - d - 1
        pg = pg + beta * k3
    per = torch.where(keep, pg, zero)
    loss = _REDUCE[loss_type](per, keep, n_row, B, L)
    with torch.no_grad():
        total = n_row.sum().clamp(min=1)
        mean_kl = torch.where(keep, k3, zero).sum() / total if ref_logps is not None else zero.clone()
        hit = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
        clip_fraction = (hit & keep).sum().to(logps.dtype) / total
    return Out(loss, mean_kl, clip_fraction)
