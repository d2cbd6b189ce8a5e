# Each loss in log space, log w + logsigmoid(-x), the mean as exp(logsumexp - log B); labels split with index_select and rewards scattered back with index_copy_.
import math
import torch
import torch.nn.functional as F


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if not (kl_policy_logps.numel() and kl_ref_logps.numel()):
        raise ValueError("empty KL inputs: z0 is undefined")
    z0 = (kl_policy_logps - kl_ref_logps).detach().mean()
    z0 = torch.where(z0 > 0, z0, torch.zeros_like(z0))
    d = desirable.bool()
    idx_d = torch.nonzero(d).flatten()
    idx_u = torch.nonzero(~d).flatten()
    r = policy_logps - ref_logps.detach()
    r_d, r_u = r.index_select(0, idx_d), r.index_select(0, idx_u)
    log_losses = torch.cat((math.log(desirable_weight) + F.logsigmoid(-beta * (r_d - z0)),
                            math.log(undesirable_weight) + F.logsigmoid(-beta * (z0 - r_u))))
    loss = torch.exp(torch.logsumexp(log_losses, 0) - math.log(r.shape[0]))
    rewards = torch.empty_like(r.detach())
    rewards.index_copy_(0, idx_d, beta * r_d.detach())
    rewards.index_copy_(0, idx_u, beta * r_u.detach())
    return loss, rewards, z0
