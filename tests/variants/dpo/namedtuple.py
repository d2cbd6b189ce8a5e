# A correct DPO returning a namedtuple (a tuple subclass), with an einsum masked sum.
from collections import namedtuple

import torch
import torch.nn.functional as F

DPOOutput = namedtuple("DPOOutput", "loss chosen_rewards rejected_rewards")


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = torch.einsum("bt,bt->b", policy_chosen_logps - ref_chosen_logps, chosen_mask.to(policy_chosen_logps.dtype))
    rejected = torch.einsum("bt,bt->b", policy_rejected_logps - ref_rejected_logps,
                            rejected_mask.to(policy_rejected_logps.dtype))
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return DPOOutput(loss, (beta * chosen).detach(), (beta * rejected).detach())
