# mistake: mean over tokens instead of sum
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.float(), rejected_mask.float()
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
