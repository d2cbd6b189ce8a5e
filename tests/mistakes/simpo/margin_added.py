# mistake: margin added instead of subtracted
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc, mr = chosen_mask.float(), rejected_mask.float()
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected) + gamma).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
