# A correct kl_penalty: a new-style autograd.Function per kind (forward without ctx, setup_context,
# generate_vmap_rule), its backward honouring needs_input_grad.
import torch


class _Base(torch.autograd.Function):
    generate_vmap_rule = True
    kind = "k3"

    @classmethod
    def value(cls, d):
        return {"k1": lambda: -d, "k2": lambda: 0.5 * d * d, "k3": lambda: torch.expm1(d) - d}[cls.kind]()

    @classmethod
    def slope(cls, d):
        return {"k1": lambda: -torch.ones_like(d), "k2": lambda: d, "k3": lambda: torch.expm1(d)}[cls.kind]()

    @staticmethod
    def setup_context(ctx, inputs, output):
        logps, ref_logps = inputs
        ctx.save_for_backward(ref_logps - logps)

    @classmethod
    def _backward(cls, ctx, g):
        (d,) = ctx.saved_tensors
        gd = g * cls.slope(d)
        return (-gd if ctx.needs_input_grad[0] else None, gd if ctx.needs_input_grad[1] else None)


def _make(kind):
    class Est(_Base):
        @staticmethod
        def forward(logps, ref_logps):
            return Est.value(ref_logps - logps)

        @staticmethod
        def backward(ctx, g):
            return Est._backward(ctx, g)
    Est.kind = kind
    Est.__name__ = f"KL_{kind}"
    return Est


_FUNCS = {k: _make(k) for k in ("k1", "k2", "k3")}


def kl_penalty(logps, ref_logps, kind="k3"):
    if not isinstance(kind, str) or kind not in _FUNCS:
        raise ValueError(f"kind must be 'k1', 'k2' or 'k3'; got {kind!r}")
    return _FUNCS[kind].apply(logps, ref_logps)
