# A correct PPO loss: a Python loop over rows, each row's response tokens picked by its mask
# (any 0/1 pattern), sums and a token count accumulated over the batch.
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    policy_sum = logps.new_zeros(())
    value_sum = values.new_zeros(())
    clipped_count = 0
    tokens = 0
    for b in range(logps.shape[0]):
        keep = mask[b] != 0  # [T] bool: the response tokens, wherever they are
        n = int(keep.sum())
        if n == 0:
            continue
        lp, olp = logps[b][keep], old_logps[b][keep].detach()
        a = advantages[b][keep].detach()
        v, ov, ret = values[b][keep], old_values[b][keep].detach(), returns[b][keep].detach()
        ratio = torch.exp(lp - olp)
        unclipped = -a * ratio
        clipped = -a * ratio.clamp(1 - clip_eps, 1 + clip_eps)
        policy_sum = policy_sum + torch.max(unclipped, clipped).sum()
        v_clip = ov + (v - ov).clamp(-value_clip_eps, value_clip_eps)
        value_sum = value_sum + torch.max((v - ret) ** 2, (v_clip - ret) ** 2).sum()
        clipped_count += int((clipped > unclipped).sum())
        tokens += n
    denom = max(tokens, 1)
    policy_loss = policy_sum / denom
    value_loss = 0.5 * value_sum / denom
    clip_fraction = torch.tensor(clipped_count / denom, dtype=logps.dtype, device=logps.device)
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
