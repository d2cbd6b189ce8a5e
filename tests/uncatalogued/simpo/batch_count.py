# check: values
# named: the row's sum divided by the whole batch's token count (per-batch instead of per-row) instead of the mean over the response tokens
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum()  # tokens in the batch
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum()
    loss = -F.logsigmoid(beta * (chosen - rejected) - gamma).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
