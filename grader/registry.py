"""The one list of katas. The CLI's choices, the docs and the tests all read it."""
from __future__ import annotations

import difflib

from grader.catalog import advantages, bt, dpo, gae, get_probs, grpo, ipo, kl_penalty, kto, orpo, ppo, sequence_logps, simpo
from grader.core.kata import Kata

# The curriculum, in order: the tracks, and within each its katas.
TRACKS: dict[str, str] = {
    "preference": "Preference optimisation: log-probs, DPO and its relatives",
    "policy-gradient": "Policy gradient: KL estimators, advantages, PPO, GRPO, KTO",
}

KATAS: dict[str, Kata] = {k.name: k for k in (
    get_probs.KATA, sequence_logps.KATA, dpo.KATA, ipo.KATA, simpo.KATA, orpo.KATA, bt.KATA,
    kl_penalty.KATA, gae.KATA, ppo.KATA, advantages.KATA, grpo.KATA, kto.KATA,
)}


class UnknownKata(KeyError):
    def __init__(self, name: str) -> None:
        self.name = name
        close = difflib.get_close_matches(name, KATAS, n=1)
        suggestion = f" Did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown kata '{name}'.{suggestion} Known katas: {', '.join(KATAS)}.")

    def __str__(self) -> str:
        return self.args[0]


def get(name: str) -> Kata:
    try:
        return KATAS[name]
    except KeyError:
        raise UnknownKata(name) from None


def names() -> list[str]:
    return list(KATAS)


def track_names(track: str) -> list[str]:
    """The katas of one track, in curriculum order; an unknown track raises UnknownTrack."""
    if track not in TRACKS:
        raise UnknownTrack(track)
    return [k.name for k in KATAS.values() if k.track == track]


class UnknownTrack(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown track '{name}'. Tracks: {', '.join(TRACKS)}.")

    def __str__(self) -> str:
        return self.args[0]
