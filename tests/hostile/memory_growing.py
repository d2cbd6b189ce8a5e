# kata: get_probs
# A runaway Python allocation, a megabyte at a time, until something stops it.
def get_probs(logits, labels):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))
