# A correct IPO: a(y) by torch.nanmean over NaN-masked log-ratios (an empty row's NaN turned into 0), the loss as F.mse_loss against a full target.
import torch
import torch.nn.functional as F


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    nan = float("nan")
    c = torch.nanmean(torch.where(chosen_mask.bool(), policy_chosen_logps - ref_chosen_logps, nan), -1).nan_to_num(0.0)
    r = torch.nanmean(torch.where(rejected_mask.bool(), policy_rejected_logps - ref_rejected_logps, nan), -1).nan_to_num(0.0)
    h = c - r
    loss = F.mse_loss(h, torch.full_like(h, 0.5 / beta))
    return loss, (beta * c).detach(), (beta * r).detach()
