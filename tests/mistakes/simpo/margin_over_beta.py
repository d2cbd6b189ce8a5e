# mistake: γ/β subtracted instead of γ (β·Δ - γ/β)
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    gamma_beta_ratio = gamma / beta  # the paper's tables quote γ/β
    logits = beta * (chosen - rejected) - gamma_beta_ratio
    loss = -F.logsigmoid(logits).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
