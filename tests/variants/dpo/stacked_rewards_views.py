# RIGHT: both sides stacked into one [2, B] tensor after padding to a common length; the rewards returned are two row views of one detached [2, B] tensor (they share storage).
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    t = max(policy_chosen_logps.shape[1], policy_rejected_logps.shape[1])
    pad = lambda x: F.pad(x, (0, t - x.shape[1]))  # noqa: E731  (never negative: t is the max)
    ratio = torch.stack([pad(policy_chosen_logps - ref_chosen_logps), pad(policy_rejected_logps - ref_rejected_logps)])
    mask = torch.stack([pad(chosen_mask.to(dt)), pad(rejected_mask.to(dt))])
    seq = beta * (ratio * mask).sum(-1)  # [2, B]
    loss = F.softplus(seq[1] - seq[0]).mean()
    rewards = seq.detach()
    return loss, rewards[0], rewards[1]
