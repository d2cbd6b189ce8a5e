"""sequence_logps: seeded cases and the catalogued mistakes' models; the behaviour run is in
`behaviour.py`.

Several mistakes only show on particular masks, so the masks are laid out on purpose
rather than drawn at random: rows with a prompt and right padding (the mask shifted to the
predicting position drops a token and adds one), rows whose mask is 1 from token 0 on (a
`torch.roll` shift wraps token 0 around and counts it), in `average=True` cases rows with no
counted token at all (no clamp: 0 / 0 = NaN), multi-turn rows whose response has zeros inside
(code that scores the span from the first counted token to the last counts them), rows
counted to the end past 256, 512, ... 4096 positions (a shift taken inside each chunk of a loop
over the sequence drops the token at every chunk boundary; a maximum length cuts the row), and
such rows in 8-bit masks under the mean (a count kept in the mask's dtype wraps).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.sequence_logps.behaviour import AlignmentBehaviour
from grader.checks.function import FunctionSpec, Param
from grader.checks.cases import Case, cast_mask, generator, largest_last, small_probabilities, with_layout
from grader.checks.conventions import Conventions, Knob, reduce_tokens, reduction_knob, sign_knob

# Row layouts of the response mask (see `_mask`).
PROMPTED = "prompted"  # zeros for a prompt of at least one token, ones, zeros for padding
FROM_START = "from_start"  # ones from token 0 (which never counts), then padding
EMPTY = "empty"  # no response token
BOS_ONLY = "bos_only"  # only token 0 marked: nothing counts
TURNS = "turns"  # a prompt, then assistant turns (ones) and user turns (zeros) alternating to the end
FULL = "full"  # ones everywhere: every token from 1 to T - 1 counts
LONG_T = 4200  # a row longer than every common maximum length (512, 1024, 2048, 4096 tokens)


def _mask(g: torch.Generator, layouts: list[str], length: int, kind: str) -> torch.Tensor:
    mask = torch.zeros(len(layouts), length)
    for b, layout in enumerate(layouts):
        if layout == BOS_ONLY:
            mask[b, 0] = 1
        elif layout in (PROMPTED, FROM_START):
            start = 0 if layout == FROM_START or length == 1 else int(torch.randint(1, length, (1,), generator=g))
            end = int(torch.randint(start + 1, length + 1, (1,), generator=g))
            mask[b, start:end] = 1
        elif layout == FULL:
            mask[b] = 1
        elif layout == TURNS:
            mask[b] = _turns(g, length)
    return cast_mask(mask, kind)


def _turns(g: torch.Generator, length: int) -> torch.Tensor:
    """[T] a multi-turn conversation's assistant-only mask: a prompt of 1 to `turn` tokens, then
    assistant and user turns of 1 to `turn` tokens each, alternating to the end. With turn =
    max(1, T // 6) the prompt, the first assistant turn and the user turn after it end before T - 1
    (T >= 4), so a second assistant turn follows a gap of zeros inside the response."""
    turn = max(1, length // 6)
    mask = torch.zeros(length)
    t, assistant = int(torch.randint(1, turn + 1, (1,), generator=g)), True
    while t < length:
        n = int(torch.randint(1, turn + 1, (1,), generator=g))
        if assistant:
            mask[t:t + n] = 1
        t, assistant = t + n, not assistant
    return mask


def _case(seed: int, salt: int, name: str, layouts: list[str], t: int, v: int, dtype: torch.dtype,
          mask: str, options: dict[str, Any], spread: float = 3.0, extreme: bool = False, remark: str = "") -> Case:
    g = generator(seed, salt)
    b = len(layouts)
    logits = (torch.randn(b, t, v, generator=g, dtype=torch.float64) * spread).to(dtype)
    input_ids = torch.randint(0, v, (b, t), generator=g)
    if extreme and t > 1:
        # Make half the tokens the one their predicting position scores lowest: log-probs of -(hundreds).
        low = logits[:, :-1].argmin(-1)  # [B, T-1]
        pick = torch.rand(b, t - 1, generator=g) < 0.5
        input_ids[:, 1:] = torch.where(pick, low, input_ids[:, 1:])
    response_mask = _mask(g, layouts, t, mask)
    if response_mask.is_floating_point():  # a float mask is in the logits' dtype (the statement)
        response_mask = response_mask.to(dtype)
    upstream = torch.randn(b, generator=g, dtype=torch.float64).to(dtype)
    note = f"B={b}, T={t}, V={v}, {str(dtype)[6:]}, {mask} mask" + "".join(f", {key}={val}" for key, val in options.items())
    if extreme:
        note += f", logit spread {spread:g}"
    if remark:
        note += f"; {remark}"
    return Case(name, {"logits": logits, "input_ids": input_ids, "response_mask": response_mask}, options,
                extreme=extreme, scale=spread if extreme else 1.0, upstream=upstream, note=note)


def _small_probabilities(seed: int) -> Case:
    case = _case(seed, 27, "small probabilities", [FULL, FULL], 4, 64, torch.float64, "float", {"average": False},
                 spread=5.0)
    logits, ids = case.inputs["logits"], case.inputs["input_ids"]
    ids[:, 1:] = small_probabilities(case, logits[:, :-1])
    return case


def _certain_tokens(case: Case) -> Case:
    """-inf logits (a masked vocabulary) everywhere but at the next token on every other
    position: those tokens are predicted with certainty, log-prob exactly 0."""
    logits, ids = case.inputs["logits"], case.inputs["input_ids"]
    nxt = ids[:, 1:].unsqueeze(-1)  # [B, T-1, 1]
    certain = torch.zeros(logits.shape, dtype=torch.bool)
    certain[:, :-1:2] = True
    keep = torch.zeros(logits.shape, dtype=torch.bool)
    keep[:, :-1].scatter_(-1, nxt, True)
    logits.masked_fill_(certain & ~keep, float("-inf"))
    # Every row's response covers tokens 1 .. T-2, so it holds certain and uncertain tokens alike.
    mask = case.inputs["response_mask"]
    mask[:] = 0
    mask[:, 1:-1] = 1
    case.note += "; -inf logits, tokens of log-prob exactly 0 at every other position, response tokens 1 to T-2"
    return case


def _masked_vocabulary(case: Case, whole_last: bool = False) -> Case:
    """-inf wherever the statement allows it: a quarter of the vocabulary at random, id 0 (TRL's
    dummy label) and, at the last position, the first token (a logits processor banning BOS) or,
    with `whole_last`, every token (a processor that ends generation there: that position predicts
    nothing, and a log_softmax taken over it before the shift is NaN there, NaN in the gradient);
    never a label at the position predicting it. An empty row then holds -inf too."""
    logits, ids = case.inputs["logits"], case.inputs["input_ids"]
    banned = torch.rand(logits.shape, generator=torch.Generator().manual_seed(logits.shape[-1])) < 0.25
    banned[..., 0] = True
    banned[:, -1] = whole_last  # the last position bans every token, or keeps finite logits but the first
    banned[:, -1].scatter_(-1, ids[:, :1], True)
    banned[:, :-1].scatter_(-1, ids[:, 1:].unsqueeze(-1), False)  # every label's logit stays finite
    logits.masked_fill_(banned, float("-inf"))
    last = "every logit" if whole_last else "input_ids[:, 0]"
    case.note += f"; -inf logits (a masked vocabulary, id 0, {last} at the last position)"
    return case


GPT2_EOS = 50256  # GPT-2's <|endoftext|>, which its tokenizer also uses as the pad id


def _real_vocabulary_ids(case: Case) -> Case:
    """Every row's last token is the end-of-text id and counts (the token that teaches a model to
    stop): code that drops the pad id by value, with pad = eos, drops it."""
    case.inputs["input_ids"][:, -1] = GPT2_EOS
    case.inputs["response_mask"][:, -1] = 1
    case.note += f"; every response ends with id {GPT2_EOS} (end-of-text, GPT-2's pad id)"
    return case


def _same_mask(case: Case) -> Case:
    m = case.inputs["response_mask"]
    m[:] = m[:1].clone()
    case.layout["response_mask"] = "expanded"
    case.note += "; mask expanded from one row"
    return case


def make_cases(seed: int) -> list[Case]:
    P, S, E, O, M, F = PROMPTED, FROM_START, EMPTY, BOS_ONLY, TURNS, FULL
    return [
        _case(seed, 1, "padded", [P, S, P, P], 8, 11, torch.float32, "float", {}),
        _case(seed, 2, "mean, float64, bool mask", [P, E, S], 6, 7, torch.float64, "bool", {"average": True}),
        _case(seed, 3, "B=1, T=1", [S], 1, 5, torch.float32, "int", {"average": True},
              remark="the only token is token 0, which nothing predicts"),
        _case(seed, 4, "tiny", [P, S], 3, 4, torch.float64, "float", {"average": True}),
        # Masks in other integer widths: int32 here, uint8 and int8 below (a mask's int is any width;
        # ids stay int64, as indexing wants them).
        with_layout(_case(seed, 5, "", [P, S, O, P, P], 12, 50, torch.float32, "int", {"average": True}),
                    "longer, int mask", response_mask="int32"),
        _case(seed, 6, "sum, bool mask", [S, P, E], 9, 16, torch.float64, "bool", {"average": False}),
        # The fixed battery: exact zeros and -inf, non-contiguous logits, an expanded mask.
        _certain_tokens(_case(seed, 9, "certain tokens, mean", [P, P, P], 7, 6, torch.float64, "float",
                              {"average": True})),
        with_layout(_certain_tokens(_case(seed, 10, "", [S, P], 6, 5, torch.float32, "int", {})),
                    "certain tokens, sum", response_mask="uint8"),
        # -inf wherever the statement allows it, beside empty rows, under both reductions
        _masked_vocabulary(_case(seed, 20, "masked vocabulary, mean", [E, P, S, O], 7, 9, torch.float64, "float",
                                 {"average": True}, remark="row 0 empty"), whole_last=True),
        _masked_vocabulary(_case(seed, 21, "masked vocabulary, sum", [P, E, S], 6, 8, torch.float32, "bool", {},
                                 remark="row 1 empty")),
        with_layout(_case(seed, 11, "", [P, S, P], 6, 9, torch.float32, "float", {"average": True}),
                    "non-contiguous logits", logits="sliced"),
        # ids as a caller's slice (batch["input_ids"][:, :T]) or column-major: .view(-1) raises on them
        with_layout(_case(seed, 22, "", [P, S, M], 7, 8, torch.float64, "int", {}),
                    "non-contiguous ids and mask", input_ids="sliced", response_mask="transposed"),
        _same_mask(_case(seed, 12, "expanded mask", [P, P, P], 5, 6, torch.float64, "bool", {"average": True})),
        # one predicted position per row, several rows: a squeeze() without its dim makes [B, 1] a [B]
        _case(seed, 13, "T=2, B=3", [P, P, S], 2, 5, torch.float32, "float", {}),
        # T = 1 summed: nothing is predicted, and the sum of nothing is a [B] tensor of zeros
        with_layout(_case(seed, 14, "", [S, S], 1, 5, torch.float64, "int", {"average": False}),
                    "B=2, T=1, sum", response_mask="int16"),
        # a real vocabulary's size: a log-sum-exp taken over chunks must rescale its running sum
        largest_last(_case(seed, 15, "V = 2048", [P, S], 4, 2048, torch.float32, "float", {"average": True})),
        # a real vocabulary (past chunks and top-k normalisers of 4096) whose end-of-text id counts
        _real_vocabulary_ids(largest_last(_case(seed, 23, "V = 50257", [P, S], 3, 50257, torch.float32, "float",
                                                {"average": True}))),
        _small_probabilities(seed),
        # multi-turn (assistant-only) masks: zeros inside each response, counted in neither the sum nor the count
        _case(seed, 16, "multi-turn mask, mean", [M, M, M], 16, 9, torch.float64, "float", {"average": True},
              remark="user turns (zeros) inside each response"),
        _case(seed, 17, "multi-turn mask, sum", [M, P, M], 12, 6, torch.float32, "bool", {},
              remark="user turns (zeros) inside responses"),
        # Sizes past the common chunk sizes, each kept small otherwise: 33 rows (micro-batches of 32)
        # and 257 (of 256); 4200 positions with a row counted to the end (a loop over chunks of 256
        # positions that shifts inside each chunk drops the tokens at 256, 512, ...; a cut at a
        # maximum length of 512 ... 4096 drops the rest).
        with_layout(_case(seed, 18, "", ([P, S, M, E, O] * 7)[:33], 6, 7, torch.float32, "int", {"average": True}),
                    "B = 33", response_mask="int8"),
        _case(seed, 26, "B = 257", ([P, S, M, E, O] * 52)[:257], 6, 5, torch.float32, "bool", {"average": True}),
        with_layout(_case(seed, 19, "", [F, M], LONG_T, 5, torch.float32, "int", {},
                          remark="row 0 counted to the end"), f"T = {LONG_T}", response_mask="int16"),
        # the mean past 256 positions: a mean of per-chunk means weighs a short last chunk like a full
        # one, and a count kept in an 8-bit mask's own dtype wraps past 127 (int8) or 255 (uint8)
        with_layout(_case(seed, 24, "", [F, M, P], 600, 5, torch.float64, "int", {"average": True},
                          remark="row 0 counted to the end"), "T = 600, mean", response_mask="uint8"),
        with_layout(_case(seed, 25, "", [F, P], 300, 5, torch.float64, "int", {"average": True},
                          remark="row 0 counted to the end"), "T = 300, mean", response_mask="int8"),
        _case(seed, 7, "logit gaps of hundreds", [P, S], 6, 8, torch.float32, "float", {"average": True},
              spread=200.0, extreme=True),
        with_layout(_case(seed, 8, "", [S, P], 5, 8, torch.float64, "int", {}, spread=2000.0, extreme=True),
                    "logit gaps of thousands", response_mask="int32"),
    ]


def counted_positions(case: Case) -> torch.Tensor:
    """[B, T, 1] bool: the logits at position t move the result only when token t + 1 counts."""
    mask = case.inputs["response_mask"].bool()
    counted = torch.zeros_like(mask)
    counted[:, :-1] = mask[:, 1:]
    return counted.unsqueeze(-1)


# ---------------------------------------------------------------- mistake models
def _pick(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)


def _reduce(lp: torch.Tensor, mask: torch.Tensor, average: bool) -> torch.Tensor:
    m = mask.to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total


def _no_shift(logits, ids, mask, average=False):
    return {"logps": _reduce(_pick(logits, ids), mask, average)}


def _same_shift(logits, ids, mask, average=False):
    return [{"logps": _reduce(_pick(logits[:, 1:], ids[:, 1:]), mask[:, 1:], average)},
            {"logps": _reduce(_pick(logits[:, :-1], ids[:, :-1]), mask[:, :-1], average)}]


def _mask_at_predictor(logits, ids, mask, average=False):
    return {"logps": _reduce(_pick(logits[:, :-1], ids[:, 1:]), mask[:, :-1], average)}


def _padded_length(logits, ids, mask, average=False):
    lp = _pick(logits[:, :-1], ids[:, 1:]) * mask[:, 1:].to(logits.dtype)
    total = lp.sum(-1)
    if not average:  # as many variants on every case: the judge pairs them up by index
        return [{"logps": total}, {"logps": total}]
    return [{"logps": lp.mean(-1)}, {"logps": total / logits.shape[1]}]


def _average_ignored(logits, ids, mask, average=False):
    return {"logps": _reduce(_pick(logits[:, :-1], ids[:, 1:]), mask[:, 1:], False)}


def _no_clamp(logits, ids, mask, average=False):
    lp = _pick(logits[:, :-1], ids[:, 1:])
    m = mask[:, 1:].to(lp.dtype)
    return {"logps": (lp * m).sum(-1) / m.sum(-1) if average else (lp * m).sum(-1)}


def _roll(logits, ids, mask, average=False):
    return {"logps": _reduce(_pick(logits, torch.roll(ids, -1, 1)), torch.roll(mask, -1, 1), average)}


def _log_of_softmax(logits, ids, mask, average=False):
    lp = torch.log(torch.softmax(logits[:, :-1], -1)).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = mask[:, 1:]
    where = torch.where(m.bool(), lp, torch.zeros_like(lp))
    return [{"logps": _reduce(lp, m, average)}, {"logps": _reduce(where, m, average)}]


MODELS: dict[str, Callable[..., Any]] = {
    "no shift": _no_shift,
    "logits and labels shifted the same way": _same_shift,
    "mask taken at the predicting position": _mask_at_predictor,
    "mean over the padded length": _padded_length,
    "`average` ignored": _average_ignored,
    "no clamp (NaN on an empty response)": _no_clamp,
    "torch.roll wraps the first token around": _roll,
    "log(softmax) instead of log_softmax": _log_of_softmax,
    "mean over the non-zero log-probs": lambda logits, ids, mask, average=False:
        {"logps": reduce_tokens(_pick(logits[:, :-1], ids[:, 1:]), mask[:, 1:], "nonzero_mean" if average else "sum")},
}


def _formula(k, logits, ids, mask, average=False):
    """The shift, the mask and the reduction with their conventions as knobs (grader.checks.conventions)."""
    if k["shift"] == "next":
        lp, m = _pick(logits[:, :-1], ids[:, 1:]), mask[:, 1:] if k["mask"] == "label" else mask[:, :-1]
    elif k["shift"] == "none":
        lp, m = _pick(logits, ids), mask
    else:  # both shifted the same way
        lp, m = _pick(logits[:, 1:], ids[:, 1:]), mask[:, 1:]
    out = reduce_tokens(lp, m, k["reduction"] if average else "sum")
    return {"logps": out if k["sign"] == "+" else -out}


CONVENTIONS = Conventions(_formula, (
    Knob("shift", "next", {"none": "no shift", "same": "logits and labels shifted the same way"}),
    Knob("mask", "label", {"predictor": "mask taken at the predicting position"}),
    reduction_knob("mean_clamped", "padded_mean", "nonzero_mean", "unclamped_mean", "sum", "batch_count",
                   "unmasked_mean", padded_mean="mean over the padded length",
                   nonzero_mean="mean over the non-zero log-probs", unclamped_mean="no clamp (NaN on an empty response)",
                   sum="`average` ignored"),
    sign_knob("sign", "negative log-probs (the NLL) instead of log-probs"),
))


SPEC = FunctionSpec(
    function="sequence_logps",
    params=(Param("logits"), Param("input_ids"), Param("response_mask"), Param("average", False)),
    outputs=("logps",),
    grad_inputs=("logits",),
    make_cases=make_cases,
    masks={"logits": counted_positions},
    models=MODELS,
    behaviour=AlignmentBehaviour(),
    conventions=CONVENTIONS,
    findings={"non_contiguous_view": ".view() on non-contiguous inputs"},
)
