# mistake: rewards from summed log-ratios
def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen_sum = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected_sum = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    h = chosen_sum / mc.sum(-1).clamp(min=1) - rejected_sum / mr.sum(-1).clamp(min=1)
    loss = ((h - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * chosen_sum).detach(), (beta * rejected_sum).detach()  # copied from the DPO kata
