# RIGHT: compiled with torch.jit.script (TorchScript), -log σ as softplus, masks as torch.where
from typing import Tuple

import torch
import torch.nn.functional as F


@torch.jit.script
def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             chosen_mask: torch.Tensor, rejected_mask: torch.Tensor,
             beta: float = 0.1) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    zero_c = torch.zeros_like(policy_chosen_logps)
    zero_r = torch.zeros_like(policy_rejected_logps)
    chosen = torch.where(chosen_mask != 0, policy_chosen_logps - ref_chosen_logps, zero_c).sum(-1)
    rejected = torch.where(rejected_mask != 0, policy_rejected_logps - ref_rejected_logps, zero_r).sum(-1)
    loss = F.softplus(-beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
