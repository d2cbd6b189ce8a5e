# RIGHT: the whole loss is a TorchScript function (@torch.jit.script), masks cast inside.
import torch
import torch.nn.functional as F
from typing import Tuple


@torch.jit.script
def simpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor, chosen_mask: torch.Tensor,
               rejected_mask: torch.Tensor, beta: float = 2.0, gamma: float = 0.5) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
