# kata: get_probs
# Imports fine, then never returns from the function: the kata times out.
def get_probs(logits, labels):
    while True:
        pass
