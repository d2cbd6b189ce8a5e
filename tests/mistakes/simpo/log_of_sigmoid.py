# mistake: log(sigmoid(x)) instead of logsigmoid
import torch


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -torch.log(torch.sigmoid(beta * (chosen - rejected) - gamma)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
