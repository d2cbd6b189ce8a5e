# kata: get_probs
# Asks torch for 4 GB while being imported (any kata: it defines nothing).
import torch

HOG = torch.ones(1 << 30)
