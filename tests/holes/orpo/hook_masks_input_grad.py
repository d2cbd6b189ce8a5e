# check: inputs_unchanged
# WRONG: registers hooks on the caller's log-prob tensors that zero their gradient outside this call's response masks: ORPO's own gradient is unchanged, but any other term's gradient through those tensors (a prompt LM loss, an auxiliary loss) is zeroed at masked positions, and hooks accumulate across calls.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    if policy_chosen_logps.requires_grad and torch.is_grad_enabled():
        kc, kr = mc.detach() != 0, mr.detach() != 0
        policy_chosen_logps.register_hook(lambda g: g.masked_fill(~kc, 0.0))
        policy_rejected_logps.register_hook(lambda g: g.masked_fill(~kr, 0.0))
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    lo = lambda m: m - torch.log(-torch.expm1(m))
    or_loss = -F.logsigmoid(lo(c) - lo(r)).mean()
    return nll + lam * or_loss, nll, or_loss
