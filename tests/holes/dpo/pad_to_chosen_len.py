# check: values
# WRONG: pads the rejected side to the chosen length with F.pad(x, (0, Tc - Tr)) to batch both halves together;
# when Tr > Tc the negative pad silently crops the rejected response's last tokens.
import torch
import torch.nn.functional as F

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    B, Tc = policy_chosen_logps.shape
    Tr = policy_rejected_logps.shape[-1]
    fit = lambda x: F.pad(x, (0, Tc - Tr))
    pol = torch.cat([policy_chosen_logps, fit(policy_rejected_logps)], 0)
    ref = torch.cat([ref_chosen_logps, fit(ref_rejected_logps)], 0)
    m = torch.cat([chosen_mask.to(pol.dtype), fit(rejected_mask.to(pol.dtype))], 0)
    ratio = ((pol - ref) * m).sum(-1)
    c, r = ratio[:B], ratio[B:]
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
