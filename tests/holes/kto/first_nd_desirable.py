# check: values
# WRONG: assumes the batch is sorted desirable-first: the first desirable.sum() examples are scored as desirable, whatever their labels
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    n_d = int(desirable.bool().sum())
    chosen, rejected = r[:n_d], r[n_d:]
    losses = torch.cat((desirable_weight * torch.sigmoid(-beta * (chosen - z0)),
                        undesirable_weight * torch.sigmoid(-beta * (z0 - rejected))))
    return losses.mean(), (beta * r).detach(), z0
