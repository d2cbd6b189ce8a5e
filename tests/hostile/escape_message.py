# kata: get_probs
# Raises with terminal escape sequences in the message (set the window title, clear the
# screen, print a green PASS): a report shows them defused.
def get_probs(logits, labels):
    raise ValueError("\x1b]0;owned\x07\x1b[2J\x1b[32mPASS\x1b[0m \x9b31m\u202eevil")
