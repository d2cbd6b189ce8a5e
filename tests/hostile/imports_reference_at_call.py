# kata: dpo
# Hides the import from a static check and makes it at call time, inside try/except.
import importlib


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    try:
        reference = importlib.import_module("solu" + "tions.dpo")
    except Exception:
        raise RuntimeError("could not borrow the reference")
    return reference.dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                              chosen_mask, rejected_mask, beta)
