# check: values
# WRONG: pads the rejected side to the chosen length with F.pad(x, (0, Tc - Tr)) to batch both halves together;
# when Tr > Tc the negative pad silently crops the rejected response's last tokens (sum and count).
import torch
import torch.nn.functional as F

def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    B, Tc = policy_chosen_logps.shape
    Tr = policy_rejected_logps.shape[-1]
    fit = lambda x: F.pad(x, (0, Tc - Tr))
    pol = torch.cat([policy_chosen_logps, fit(policy_rejected_logps)], 0)
    m = torch.cat([chosen_mask.to(pol.dtype), fit(rejected_mask.to(pol.dtype))], 0)
    avg = (pol * m).sum(-1) / m.sum(-1)
    c, r = avg[:B], avg[B:]
    nll = -(policy_chosen_logps * chosen_mask.to(pol.dtype)).sum() / chosen_mask.to(pol.dtype).sum()
    lo = lambda x: x - torch.log(-torch.expm1(x))
    o = -F.logsigmoid(lo(c) - lo(r)).mean()
    return nll + lam * o, nll, o
