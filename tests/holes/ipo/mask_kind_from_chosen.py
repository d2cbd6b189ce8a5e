# check: values
# status: error
# WRONG: the mask kind is read from chosen_mask alone (~m for bool) and applied to both masks: a bool chosen mask beside an int or float rejected mask raises.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    if chosen_mask.dtype == torch.bool:  # bool masks: complement with ~
        pad_c, pad_r = ~chosen_mask, ~rejected_mask
    else:
        pad_c, pad_r = chosen_mask == 0, rejected_mask == 0
    ratio_c = (policy_chosen_logps - ref_chosen_logps).masked_fill(pad_c, 0.0)
    ratio_r = (policy_rejected_logps - ref_rejected_logps).masked_fill(pad_r, 0.0)
    c = ratio_c.sum(-1) / (~pad_c).sum(-1).clamp(min=1)
    r = ratio_r.sum(-1) / (~pad_r).sum(-1).clamp(min=1)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
