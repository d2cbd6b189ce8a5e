# kata: dpo
# Two parameters where the kata has seven.
def dpo_loss(policy_chosen_logps, policy_rejected_logps):
    return (policy_chosen_logps - policy_rejected_logps).mean()
