from grader.catalog import common as c
from grader.core.kata import Kata, Mistake

KATA = Kata(
    name="get_probs",
    title="Per-token log-probabilities",
    summary="log-prob of each label under its position's logits: log_softmax + gather",
    statement="""\
Given a language model's logits and the token at each position, return the log-probability
the model gives that token:

    out[b, t] = log_softmax(logits[b, t])[labels[b, t]]

There is no shift here: `labels[b, t]` is already the target of position t (the shift that
aligns a causal LM's logits with the next token is the `sequence_logps` kata).

Every DPO-family loss starts from these numbers, so they must be exact and stable: logits
in real training differ by hundreds, and `softmax(...).log()` turns a probability of
e^-300 into log(0) = -inf. The result keeps the logits' dtype and stays differentiable.

`labels` is int64 (torch.long, as indexing wants it) holding ids from 0
to V - 1; every position is scored, whatever its label (there is no mask and no pad id here).

The ranges the grader checks: logits in float32 or float64 (bfloat16 and float16 are
out of range), logit gaps up to 2000 (values and gradients), B = 1 and T = 1 up to
B = 33, B = 257, T = 300 and a real vocabulary (V = 50257, with labels 50256, GPT-2's
end-of-text and pad id, and above 32767), logits of -inf (a masked vocabulary
entry, never the label's), tokens whose log-prob is exactly 0, non-contiguous logits
(`logits[:, :-1]` of a longer tensor) and labels expanded from one row. The gradient is
exact for every vocabulary entry, down to probabilities of 1e-12: a backward that drops
small entries ("sparse" softmax gradients) is wrong here.""",
    signature="def get_probs(logits: Tensor, labels: Tensor) -> Tensor\n"
    "    # logits [B, T, V] float, labels [B, T] int64 -> [B, T]",
    entry=("get_probs",),
    hints=(
        "Normalise over the vocabulary first, in log space, then pick one entry per position. "
        "Which dimension is the vocabulary?",
        "Two steps: a [B, T, V] tensor of log-probabilities from `logits`, then select along V "
        "with `labels` (which is [B, T]: it needs a trailing dimension of size 1 to index with).",
        "out = torch.gather(torch.log_softmax(logits, dim=-1), dim=-1, index=labels.unsqueeze(-1)).squeeze(-1). "
        "Never log(softmax(x)): it underflows to -inf for logit gaps of a few hundred.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.KEEPS_GRAPH, c.INPUTS_UNCHANGED, c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
    ),
    mistakes=(
        Mistake("log(softmax) instead of log_softmax", "stability",
                "softmax underflows to 0 for large logit gaps and log(0) = -inf; torch.log_softmax subtracts the max first."),
        Mistake("softmax over the wrong dimension", "values",
                "normalise over the vocabulary, the last dimension (dim=-1), not over positions or the batch."),
        Mistake("probabilities instead of log-probabilities", "values",
                "the contract asks for log-probabilities: log_softmax, not softmax."),
        Mistake("logits gathered without normalising", "values",
                "raw logits are not log-probabilities; normalise with log_softmax over the vocabulary first."),
        Mistake("one_hot * log_softmax: NaN where a logit is -inf", "values",
                "a masked vocabulary entry has logit -inf and log-prob -inf, and 0 · -inf = NaN in the one-hot "
                "product; select the label's entry instead: log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1))."),
    ),
)
