# kata: dpo
# Imports the reference solution in plain sight: refused before anything runs.
from solutions.dpo import dpo_loss  # noqa: F401
