# RIGHT: written as verl does it: pg_losses1/pg_losses2 and torch.maximum, the clip fraction as gt(pg_losses2, pg_losses1), the policy and KL terms aggregated separately (same mode) and summed; masked means over count + 1e-8
import torch

_MODES = {"grpo": "seq-mean-token-mean", "bnpo": "token-mean", "dr_grpo": "seq-mean-token-sum-norm"}


def _masked_mean(x, m, dim=None):
    if dim is None:
        return (x * m).sum() / (m.sum() + 1e-8)
    return (x * m).sum(dim) / (m.sum(dim) + 1e-8)


def _agg_loss(loss_mat, m, mode, norm):
    if mode == "token-mean":
        return _masked_mean(loss_mat, m)
    if mode == "seq-mean-token-mean":
        return _masked_mean(loss_mat, m, dim=-1).mean()
    return (loss_mat * m).sum(-1).sum() / norm  # seq-mean-token-sum-norm with the constant B * L


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.dim() != 1 or advantages.shape[0] != B:
        raise ValueError(f"advantages: expected shape ({B},), got {tuple(advantages.shape)}")
    mode = _MODES.get(loss_type) if isinstance(loss_type, str) else None
    if mode is None:
        raise ValueError(f"loss_type {loss_type!r} is not supported")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"importance_sampling_level {importance_sampling_level!r} is not supported")
    if beta > 0 and ref_logps is None:
        raise ValueError("ref_logps is required when beta > 0")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError(f"max_completion_length={max_completion_length} < T={T}")
    m = mask.to(logps.dtype)
    adv = advantages.detach().unsqueeze(-1)
    negative_approx_kl = logps - old_logps.detach()
    if importance_sampling_level == "sequence":
        negative_approx_kl = _masked_mean(negative_approx_kl, m, dim=-1).unsqueeze(-1).expand(B, T)
    ratio = torch.exp(negative_approx_kl)
    pg_losses1 = -adv * ratio
    pg_losses2 = -adv * torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    pg_losses = torch.maximum(pg_losses1, pg_losses2)
    norm = B * (T if max_completion_length is None else max_completion_length)
    loss = _agg_loss(pg_losses, m, mode, norm)
    pg_clipfrac = _masked_mean(torch.gt(pg_losses2, pg_losses1).to(logps.dtype), m).detach()
    if ref_logps is not None:
        kl = ref_logps.detach() - logps
        kld = torch.exp(kl) - kl - 1
        loss = loss + beta * _agg_loss(kld, m, mode, norm)
        mean_kl = _masked_mean(kld.detach(), m)
    else:
        mean_kl = torch.zeros((), dtype=logps.dtype, device=logps.device)
    return loss, mean_kl, pg_clipfrac
