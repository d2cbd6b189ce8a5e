# A correct GAE in the style of RLHF trainers: values zeroed at padding, nextvalues, lastgaelam.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    mask = mask.to(rewards.dtype)
    values = values.detach() * mask
    rewards = rewards.detach() * mask
    lastgaelam = 0
    advantages_reversed = []
    gen_len = rewards.shape[-1]
    for t in reversed(range(gen_len)):
        nextvalues = values[:, t + 1] if t < gen_len - 1 else 0.0
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam = (delta + gamma * lam * lastgaelam) * mask[:, t]
        advantages_reversed.append(lastgaelam)
    if not advantages_reversed:
        return torch.zeros_like(rewards), torch.zeros_like(rewards)
    advantages = torch.stack(advantages_reversed[::-1], dim=1)
    returns = (advantages + values) * mask
    return advantages, returns
