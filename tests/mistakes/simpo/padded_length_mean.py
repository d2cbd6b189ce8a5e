# mistake: mean over the padded length
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    # .mean(-1) divides by T, counting prompt and padding positions as zeros.
    chosen = (policy_chosen_logps * chosen_mask).mean(-1)
    rejected = (policy_rejected_logps * rejected_mask).mean(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected) - gamma).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
