# mistake: mask not applied
def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = (policy_chosen_logps - ref_chosen_logps).mean(-1)
    rejected = (policy_rejected_logps - ref_rejected_logps).mean(-1)
    loss = ((chosen - rejected - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
