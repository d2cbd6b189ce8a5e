# kata: get_probs
# sys.exit(0) while being imported: an error, never a pass.
import sys

sys.exit(0)
