# check: values
# WRONG: rewards come back as cat(desirable rewards, undesirable rewards), TRL's logging layout, not in input order
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    kl = (kl_policy_logps - kl_ref_logps).mean().detach().clamp(min=0)
    d = desirable.bool()
    chosen = policy_logps[d] - ref_logps[d].detach()
    rejected = policy_logps[~d] - ref_logps[~d].detach()
    losses = torch.cat((desirable_weight * (1 - torch.sigmoid(beta * (chosen - kl))),
                        undesirable_weight * (1 - torch.sigmoid(beta * (kl - rejected)))), 0)
    rewards = torch.cat((beta * chosen.detach(), beta * rejected.detach()), 0)
    return losses.mean(), rewards, kl
