# kata: get_probs
# An infinite loop while the module is imported: the kata times out.
while True:
    pass
