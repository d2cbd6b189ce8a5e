# A correct SimPO: a Python loop over rows, float32 arithmetic inside, cast back at the end.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    dtype = policy_chosen_logps.dtype
    losses, chosen_rewards, rejected_rewards = [], [], []
    for b in range(policy_chosen_logps.shape[0]):
        mc, mr = chosen_mask[b].float(), rejected_mask[b].float()
        c = (policy_chosen_logps[b].float() * mc).sum() / mc.sum()
        r = (policy_rejected_logps[b].float() * mr).sum() / mr.sum()
        losses.append(-F.logsigmoid(beta * (c - r) - gamma))
        chosen_rewards.append(beta * c.detach())
        rejected_rewards.append(beta * r.detach())
    loss = torch.stack(losses).mean().to(dtype)
    return loss, torch.stack(chosen_rewards).to(dtype), torch.stack(rejected_rewards).to(dtype)
