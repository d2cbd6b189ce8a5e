# kata: get_probs
# os._exit(0) in the function: the child ends with status 0 and no results. Not a pass.
import os


def get_probs(logits, labels):
    os._exit(0)
