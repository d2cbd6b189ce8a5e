# A correct chosen and rejected log-ratios stacked into [B, 2] and read back by column (a common TRL-like layout).
import torch
import torch.nn.functional as F

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    ratios = torch.stack([((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1),
                          ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)], dim=-1)  # [B, 2]
    loss = -F.logsigmoid(beta * (ratios[:, 0] - ratios[:, 1])).mean()
    rewards = (beta * ratios).detach()
    return loss, rewards[:, 0], rewards[:, 1]
