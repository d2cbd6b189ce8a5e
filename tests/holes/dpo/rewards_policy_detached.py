# check: rewards_detached
# WRONG: the rewards detach only the policy's sums, β·(sum(pc).detach() - sum(rc)): a reference whose log-probs carry a graph leaves it on the rewards.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    pc, pr = (policy_chosen_logps * mc).sum(-1), (policy_rejected_logps * mr).sum(-1)
    rc, rr = (ref_chosen_logps * mc).sum(-1), (ref_rejected_logps * mr).sum(-1)
    h = (pc - rc) - (pr - rr)
    loss = -F.logsigmoid(beta * h).mean()
    chosen_rewards = beta * (pc.detach() - rc)
    rejected_rewards = beta * (pr.detach() - rr)
    return loss, chosen_rewards, rejected_rewards
