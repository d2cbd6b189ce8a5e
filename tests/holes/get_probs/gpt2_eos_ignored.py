# check: values
# WRONG: positions whose label is GPT-2's end-of-text id 50256 (its pad id too) score 0 instead of their log-prob: get_probs has no mask, every label is scored, an end of a response included.
import torch

PAD_ID = 50256  # tokenizer.pad_token_id = tokenizer.eos_token_id for GPT-2


def get_probs(logits, labels):
    lp = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return lp.masked_fill(labels == PAD_ID, 0.0)
