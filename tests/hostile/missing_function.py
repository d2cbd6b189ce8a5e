# kata: dpo
# Defines the wrong name: there is no dpo_loss to call.
def dpo(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
        chosen_mask, rejected_mask, beta=0.1):
    raise AssertionError("never called")
