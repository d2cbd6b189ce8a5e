# mistake: no length normalisation
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    # DPO's sequence log-prob, without the reference: the sum over response tokens.
    chosen = (policy_chosen_logps * chosen_mask).sum(-1)
    rejected = (policy_rejected_logps * rejected_mask).sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected) - gamma).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
