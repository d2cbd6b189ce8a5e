# kata: get_probs
# An uncaught exception on every call.
def get_probs(logits, labels):
    raise ValueError("boom from the submission")
