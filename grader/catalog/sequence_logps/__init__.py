from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="sequence_logps",
    title="Sequence log-probabilities from a causal LM's logits",
    summary="the shift, the response mask and the sum (or mean) that turn logits into log π(y|x)",
    statement="""\
Turn a causal language model's logits into the log-probability of each sequence's
response, log π(y | x): the number every preference loss (DPO, IPO, SimPO, ORPO) is
built from.

    logits         [B, T, V]  float32 or float64; logits[:, t] predicts token t + 1
    input_ids      [B, T]     int64; prompt, response and right padding, any
                              id from 0 to V - 1 (a pad id counts like any other token
                              wherever the mask is 1)
    response_mask  [B, T]     0/1 as bool, int of any width (int64, int32, int16, int8, uint8)
                              or float in the logits' dtype; 1 at the position of each
                              response token, in any pattern
    average        bool       False: the sum; True: the mean over the counted tokens
    returns        [B]        logits' dtype, differentiable w.r.t. logits

The alignment, which is the whole kata: a causal LM reads tokens 0..t and predicts token
t + 1, so token t's log-probability comes from the logits one position earlier:

    lp[b, t]  = log_softmax(logits[b, t - 1])[input_ids[b, t]]       for t = 1 .. T-1
    counted   = the t >= 1 with response_mask[b, t] = 1
    out[b]    = sum of lp[b, t] over the counted t          (average=False)
    out[b]    = that sum / max(1, number of counted t)      (average=True)

Conventions, and why:
- The mask belongs to the token being scored, at that token's own position (the layout
  of HF's `labels` and TRL's completion masks). Token 0 has no logits predicting it, so
  it never counts even when its mask is 1; the last position's logits predict past the
  end and are never used.
- `average=True` divides by the number of counted tokens, not by T: padding must not
  change a sequence's score. IPO and SimPO use the mean, DPO the sum.
- Any 0/1 pattern is a mask: a multi-turn conversation's assistant-only mask has zeros
  inside the response (the user's turns), and those tokens count in neither the sum nor
  the mean's count.
- A row with no counted token scores 0 (the count is clamped to 1), never 0/0 = NaN:
  a truncated batch can contain one, and one NaN poisons the whole loss.
- Logits of trained models differ by hundreds: use log_softmax, never log(softmax).
- -inf may appear in any logit except a label's: logits[b, t - 1, input_ids[b, t]]
  for t >= 1 is finite (padding's included), and nothing else need be. So the last
  position's logits (which predict nothing) may be -inf, all of them, and so may any
  entry of an empty row's or another row's that is not the label of the next token: a
  masked vocabulary, a banned id, a position where generation was forced to end.
- The gradient is exact for every vocabulary entry, down to probabilities of 1e-12: a
  backward that drops small entries ("sparse" softmax gradients) is wrong here.
- The ranges the grader checks: logit gaps up to 2000, B = 1 and T = 1 up to B = 33,
  B = 257 and T = 4200 (rows counted past 4096 tokens; with the sum and the mean), V up
  to 50257 (GPT-2's; its end-of-text id 50256, also its pad id, among the counted
  tokens), empty rows, multi-turn masks, logits of -inf as above (beside empty rows,
  and a last position of -inf only) and tokens
  predicted with certainty (log-prob exactly 0: they still count in the mean),
  non-contiguous logits (`logits[:, :-1]` of a longer tensor, as a caller's own shift
  gives them), non-contiguous ids and masks, masks of every width above and bool
  beside float32 and float64 logits (8-bit masks counting hundreds of tokens), and an
  expanded mask.

What the grader shows with your function: logits that put their mass on the *next*
token score about 0 per token, logits that put it on the position's *own* token (the
alignment an unshifted implementation assumes) score about -20 per token, and appending
padding with mask 0 leaves both the sum and the mean unchanged.""",
    signature="def sequence_logps(logits: Tensor, input_ids: Tensor, response_mask: Tensor,\n"
    "                   average: bool = False) -> Tensor\n"
    "    # logits [B, T, V] float, input_ids [B, T] int64, response_mask [B, T] -> [B]",
    entry=("sequence_logps",),
    hints=(
        "A causal LM's logits at position t are its guess for the token at t + 1. Score each "
        "token with the logits one position before it, then keep only the response tokens and "
        "add them up per row.",
        "Drop the last position of the logits and the first token of the ids (and of the mask: "
        "it belongs to the token), so that both are [B, T-1] and aligned. Take log_softmax over "
        "the vocabulary, pick the label's entry with gather, multiply by the mask (cast to the "
        "logits' dtype), sum over positions. For the mean, divide by the mask's count clamped to 1.",
        "lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1); "
        "m = response_mask[:, 1:].to(lp.dtype); total = (lp * m).sum(-1); "
        "return total / m.sum(-1).clamp(min=1) if average else total.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        Check("masked_grad_zero", "the logits at position t get exactly zero gradient unless token t + 1 counts "
              "(so never at the last position)"),
        c.KEEPS_GRAPH, c.INPUTS_UNCHANGED, c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "logits aimed at the next token score ~0, aimed at their own token score very low; "
              "padding with mask 0 changes nothing"),
    ),
    mistakes=(
        Mistake("no shift", "values",
                "logits[:, t] predicts input_ids[:, t + 1], not input_ids[:, t]: pair logits[:, :-1] with "
                "input_ids[:, 1:] (and the mask with the labels: response_mask[:, 1:])."),
        Mistake("logits and labels shifted the same way", "values",
                "slicing both the same way (logits[:, 1:] with input_ids[:, 1:]) keeps them unaligned; the shift is "
                "in opposite directions: logits[:, :-1] with input_ids[:, 1:]."),
        Mistake("mask taken at the predicting position", "values",
                "the mask marks the token being scored, so it is shifted with the labels: response_mask[:, 1:], "
                "not response_mask[:, :-1]. Otherwise the first response token is dropped and the token after "
                "the response is counted."),
        Mistake("mean over the padded length", "values",
                "with average=True divide by the number of counted tokens, response_mask[:, 1:].sum(-1) clamped to 1, "
                "not by the sequence length: padding must not change a sequence's score."),
        Mistake("`average` ignored", "values",
                "average=True asks for the mean over the counted tokens: the masked sum divided by their count "
                "(clamped to at least 1)."),
        Mistake("no clamp (NaN on an empty response)", "values",
                "a row with no counted token divides 0 by 0; clamp the count to at least 1 "
                "(count.clamp(min=1)) so that such a row scores 0."),
        Mistake("torch.roll wraps the first token around", "values",
                "torch.roll(input_ids, -1, 1) puts token 0 at the last position as its 'next token', and the rolled "
                "mask counts it when response_mask[:, 0] is 1; slice instead (logits[:, :-1], input_ids[:, 1:]), "
                "or zero the rolled mask's last column."),
        Mistake("mean over the non-zero log-probs", "values",
                "a token predicted with certainty has log-prob exactly 0 and still counts: divide by the number of "
                "counted tokens, response_mask[:, 1:].sum(-1) clamped to 1, not by (lp != 0).sum(-1)."),
        Mistake(".view() on non-contiguous inputs", "values",
                "logits from a shift (`logits[:, :-1]`) or a slice, and ids or masks sliced or transposed by the "
                "caller, are not contiguous and `.view(-1, ...)` raises; use `.reshape(...)`, or keep the [B, T, V] "
                "shape and gather along the last dimension."),
        Mistake("log(softmax) instead of log_softmax", "stability",
                "softmax underflows to 0 for logit gaps of a few hundred and log(0) = -inf (and -inf · 0 = NaN under "
                "the mask); torch.log_softmax subtracts the max first."),
    ),
)
