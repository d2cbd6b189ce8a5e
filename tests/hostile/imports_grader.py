# kata: dpo
# Takes the correct formula from the grader's own catalogue instead of computing it.
from grader.catalog.dpo.spec import CONVENTIONS


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    out = CONVENTIONS.formula(CONVENTIONS.contract, policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, chosen_mask, rejected_mask, beta=beta)
    return out["loss"], out["chosen_rewards"].detach(), out["rejected_rewards"].detach()
