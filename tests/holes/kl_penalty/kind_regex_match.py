# check: bad_input
# WRONG: kind validated with re.match (prefix match, not fullmatch): "k3 ", "k12", "k3_low_var" accepted
import re
import torch
def kl_penalty(logps, ref_logps, kind="k3"):
    mt = re.match(r"k[123]", kind)
    if not mt:
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    kind = mt.group(0)
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
