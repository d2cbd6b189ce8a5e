"""The fixed battery of the pairwise-loss katas (dpo, ipo, simpo, orpo): edits that turn a
seeded case into an edge real batches have (exact zeros, empty responses, multi-turn masks,
long responses, one side longer, wide and tall batches, expanded masks, strided inputs, padding
at -1e38), and the helpers that add a kata's whole set of them.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.cases import Case, with_layout
from grader.core.tolerances import LONG_SUM_SCALE


def with_zeros(case: Case) -> Case:
    """Exact zeros in the responses: tokens predicted with certainty (log-prob 0; with a
    reference, its log-prob 0 too, so the log-ratio is exactly 0 there), on every other counted
    token of a row with two or more, so that no response is all zeros."""
    for side in ("chosen", "rejected"):
        counted = case.inputs[f"{side}_mask"].bool()
        for b in range(counted.shape[0]):
            where = counted[b].nonzero().flatten()
            for t in where[::2].tolist() if len(where) > 1 else []:
                for name in (f"policy_{side}_logps", f"ref_{side}_logps"):
                    if name in case.inputs:
                        case.inputs[name][b, t] = 0.0
    case.note += ", exact zero log-probs at every other response token"
    return case


def with_empty_rows(case: Case) -> Case:
    """Row 1 of the rejected mask and the last row of the chosen mask emptied (a truncated pair)."""
    case.inputs["rejected_mask"][1] = 0
    case.inputs["chosen_mask"][-1] = 0
    case.note += ", two empty responses"
    return case


def with_both_empty(case: Case, rows: list[int] | None = None) -> Case:
    """Both responses of `rows` (every row when None) emptied: a prompt longer than the maximum
    length truncates both completions of its pair. Such a pair still counts in the batch mean, so
    code that drops it ("skip pairs with nothing to learn") or zeroes its loss shows."""
    picked = slice(None) if rows is None else rows
    for side in ("chosen", "rejected"):
        case.inputs[f"{side}_mask"][picked] = 0
    case.note += ", both responses of every pair empty" if rows is None else \
        f", both responses of row{'s' * (len(rows) > 1)} {', '.join(map(str, rows))} empty"
    return case


def _with_runs(case: Case, runs: Callable[[int, int], list[tuple[int, int]]], note: str) -> Case:
    """Both masks rewritten: row b of a [B, T] mask counts the positions [start, end) of each
    (start, end) in runs(b, T), in the mask's own dtype."""
    for side in ("chosen", "rejected"):
        mask = case.inputs[f"{side}_mask"]
        counted = torch.zeros(mask.shape)
        for b in range(mask.shape[0]):
            for start, end in runs(b, mask.shape[1]):
                if not 0 <= start < end <= mask.shape[1]:
                    raise ValueError(f"a run [{start}, {end}) outside T = {mask.shape[1]}")  # the grader's own case
                counted[b, start:end] = 1
        mask.copy_(counted.to(mask.dtype))
    case.note += note
    return case


def with_turns(case: Case) -> Case:
    """Multi-turn masks that count the assistant's tokens only: every response is two turns with
    a masked turn of 1 or 2 tokens between them, at a place that differs across rows, so that
    code taking a response as one run from its first to its last counted token (a slice
    [prompt_len:seq_len], a count seq_len - prompt_len) shows. Needs T >= 10."""
    def runs(b: int, t: int) -> list[tuple[int, int]]:
        gap = 3 + b % 3  # the first turn ends here
        return [(1 + b % 2, gap), (gap + 1 + b % 2, t - b % 3)]
    return _with_runs(case, runs, ", two turns in every response with a masked turn between them")


# Past every common chunk size (8, 16, ..., 256) and every common max-length cut-off (512, 1024,
# 2048, 4096 tokens): code that truncates a response there keeps fewer tokens than it counts.
LONG_RESPONSE = 4096


def with_long_responses(case: Case) -> Case:
    """Every response longer than LONG_RESPONSE tokens (each row's prompt and padding differ), so
    that code which chunks the token dimension or keeps only a response's first 256 ... 4096
    tokens shows. Needs T > LONG_RESPONSE + 6 * B."""
    def runs(b: int, t: int) -> list[tuple[int, int]]:
        start, end = 1 + 3 * b, t - 3 * b
        if end - start <= LONG_RESPONSE:
            raise ValueError(f"T = {t} too short for a response of over {LONG_RESPONSE} tokens in row {b}")
        return [(start, end)]
    case = _with_runs(case, runs, f", every response over {LONG_RESPONSE} tokens")
    # Sums of thousands of log-probs in float32: two correct orders of summation (the log-ratio's
    # sum, or the policy's sum minus the reference's) differ by about 1e-7 of the sums' size, past
    # float32's atol; so the absolute tolerance grows with that size, as on the huge log-ratio cases.
    case.scale = max(case.scale, LONG_SUM_SCALE * max(_largest_sum(case, side) for side in ("chosen", "rejected")))
    return case


def _largest_sum(case: Case, side: str) -> float:
    """The largest |masked sum| over the rows of `side`'s log-prob inputs."""
    m = case.inputs[f"{side}_mask"].to(torch.float64)
    return max(float((case.inputs[name].to(torch.float64) * m).sum(-1).abs().max())
               for name in case.inputs if name.endswith(f"_{side}_logps"))


def to_the_end(case: Case, side: str) -> Case:
    """Row 0's `side` ("chosen" or "rejected") response runs to the last position, so that
    code which pads or cuts the two sides to one length (F.pad to the other's T, a slice
    [:, :T]) drops counted tokens whenever this side is the longer."""
    m = case.inputs[f"{side}_mask"]
    counted = m[0].nonzero().flatten()
    start = int(counted[0]) if len(counted) else 0
    m[0, start:] = 1
    case.note += f"; row 0's {side} response runs to its last position"
    return case


def longer_sides(seed: int, make: Callable[..., Case], **options: Any) -> list[Case]:
    """Two cases of a pairwise kata: the rejected responses longer than the chosen (Tr > Tc)
    and the chosen longer (Tc > Tr), the longer side counted up to its last position.
    `make(seed, salt, name, b, tc, tr, dtype, mask, options)` builds a case."""
    # The two masks of different kinds, each a valid mask, so that code which reads one mask's kind
    # and converts both alike shows; with `batch_edges` and `tall_batch` every mask kind meets both
    # float32 and float64 log-probs (a mask cast to a fixed float dtype shows only against float64).
    return [to_the_end(make(seed, 20, "rejected longer than chosen", 3, 4, 7, torch.float64, ("int16", "int32"),
                            options), "rejected"),
            to_the_end(make(seed, 21, "chosen longer than rejected", 3, 7, 3, torch.float32, ("int", "int16"),
                            options), "chosen")]


WIDE_BATCH = 33  # one pair past micro-batches of 8, 16 and 32: a mean of chunk means shows


def batch_edges(seed: int, make: Callable[..., Case], **options: Any) -> list[Case]:
    """Three cases of a pairwise kata at sizes and mask shapes real batches have: B = WIDE_BATCH,
    two-turn responses (`with_turns`), and responses over LONG_RESPONSE tokens; small otherwise.
    `make` as for `longer_sides`. The narrow widths meet both dtypes here, a bool chosen mask meets
    another kind (`~mask` applied to both shows), and the long responses count thousands of tokens
    in int8 and uint8 masks: a count kept in the mask's own dtype wraps."""
    # B·Tc = 990 chosen tokens: a cache kept only for inputs of some hundreds of elements meets a
    # decoy call here too, not only on the largest cases.
    return [make(seed, 30, f"B={WIDE_BATCH}", WIDE_BATCH, 30, 5, torch.float32, ("bool", "uint8"), options),
            with_turns(make(seed, 31, "multi-turn masks", 4, 12, 10, torch.float64, ("int8", "uint8"), options)),
            with_long_responses(make(seed, 32, "long responses", 2, 4200, 4150, torch.float32, ("int8", "uint8"),
                                     options))]


TALL_BATCH = 257  # one pair past micro-batches of 256 rows


def every_token_counted(case: Case) -> Case:
    """Both masks all ones, in their own dtype: B·T response tokens."""
    return _with_runs(case, lambda b, t: [(0, t)], ", every token counted")


def tall_batch(seed: int, make: Callable[..., Case], **options: Any) -> Case:
    """B = TALL_BATCH pairs of 9 tokens, every one counted, beside float32 log-probs: 2313 tokens a
    side, past float16's exact 2048, so code that splits the batch into micro-batches of up to 256
    rows or keeps token counts in float16 shows; cheap otherwise. A bool chosen mask beside a float
    rejected one: code that reads the chosen mask's kind and converts both alike (`~mask`) shows.
    `make` as for `longer_sides`."""
    return every_token_counted(make(seed, 36, f"B={TALL_BATCH}", TALL_BATCH, 9, 9, torch.float32, ("bool", "float"),
                                    options))


def with_expanded_masks(case: Case) -> Case:
    """Both masks the same for every row (row 0's), passed expanded: `mask[:1].expand(B, T)`."""
    for name in ("chosen_mask", "rejected_mask"):
        m = case.inputs[name]
        m[:] = m[:1].clone()
        m[:, -1] = 0  # still padded
        if not bool(m.any()):
            m[:, 0] = 1
        case.layout[name] = "expanded"
    case.note += "; masks expanded from one row"
    return case


def strided(case: Case, name: str) -> Case:
    """`case` with every log-prob input non-contiguous (sliced from a longer tensor, or transposed)."""
    logps = [k for k in case.inputs if k.endswith("_logps")]
    return with_layout(case, name, **{k: ("sliced" if i % 2 == 0 else "transposed") for i, k in enumerate(logps)})


# Padding may hold any finite log-prob at most 0: -1e38, within float32's range, so that code which
# computes in float32 inside (which the contract accepts) meets the same numbers in float64 cases.
FAR_PADDING = -1e38


def with_far_padding(case: Case) -> Case:
    """Every position a side's mask does not count holds FAR_PADDING: code that sums the
    padding and subtracts it again, or exponentiates every position, shows (0 · -1e38 is 0)."""
    for side in ("chosen", "rejected"):
        x, counted = case.inputs[f"policy_{side}_logps"], case.inputs[f"{side}_mask"].bool()
        x[~counted] = FAR_PADDING
    case.note += f", padding of {FAR_PADDING:g}"
    return case
