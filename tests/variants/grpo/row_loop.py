# A correct GRPO loss written as a Python loop over completions, each reduced to its own tokens
# (picked by its mask row, any 0/1 pattern).
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.dim() != 1 or advantages.shape[0] != B:
        raise ValueError("one advantage per completion: shape [B]")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError(f"loss_type {loss_type!r}")  # the word named: an empty one is still a message
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError(f"importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("no reference log-probs for the KL term")
    L = T if max_completion_length is None else max_completion_length
    if L < T:
        raise ValueError("max_completion_length < T")
    lengths = mask.long().sum(-1).tolist()
    row_sums, row_means, kl_sum, clipped = [], [], logps.new_zeros(()), logps.new_zeros(())
    for i in range(B):
        n, keep = lengths[i], mask[i] != 0  # [T] bool: the completion's tokens, wherever they are
        lp = logps[i][keep]
        lr = lp - old_logps[i][keep].detach()
        if importance_sampling_level == "sequence":
            lr = (lr.mean() if n else lr.sum()).expand(n)
        rho = lr.exp()
        a = advantages[i].detach()
        surrogate = torch.min(rho * a, rho.clamp(1 - epsilon_low, 1 + epsilon_high) * a)
        per_token = -surrogate
        if ref_logps is not None:
            d = ref_logps[i][keep].detach() - lp
            k3 = d.exp() - d - 1
            per_token = per_token + beta * k3
            kl_sum = kl_sum + k3.detach().sum()
        if a > 0:
            clipped = clipped + (rho > 1 + epsilon_high).sum()
        elif a < 0:
            clipped = clipped + (rho < 1 - epsilon_low).sum()
        row_sums.append(per_token.sum())
        row_means.append(per_token.sum() / max(n, 1))
    total = max(sum(lengths), 1)
    if loss_type == "grpo":
        loss = torch.stack(row_means).mean()
    elif loss_type == "bnpo":
        loss = torch.stack(row_sums).sum() / total
    else:
        loss = torch.stack(row_sums).sum() / (B * L)
    return loss, (kl_sum / total).detach(), (clipped.detach() / total).to(logps.dtype)
