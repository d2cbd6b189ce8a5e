# A correct IPO: a Python loop over rows, float32 arithmetic inside, cast back at the end.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dtype = policy_chosen_logps.dtype
    losses, chosen_rewards, rejected_rewards = [], [], []
    for b in range(policy_chosen_logps.shape[0]):
        mc, mr = chosen_mask[b].float(), rejected_mask[b].float()
        c = ((policy_chosen_logps[b].float() - ref_chosen_logps[b].float()) * mc).sum() / max(float(mc.sum()), 1.0)
        r = ((policy_rejected_logps[b].float() - ref_rejected_logps[b].float()) * mr).sum() / max(float(mr.sum()), 1.0)
        losses.append((c - r - 1 / (2 * beta)) ** 2)
        chosen_rewards.append(beta * c.detach())
        rejected_rewards.append(beta * r.detach())
    loss = torch.stack(losses).mean().to(dtype)
    return loss, torch.stack(chosen_rewards).to(dtype), torch.stack(rejected_rewards).to(dtype)
