# RIGHT: grpo_loss is an instance of a class with __call__ (a configured loss object), the reductions looked up in a dict of methods, the options validated in a separate method, float64 inside and cast back
import torch


class GRPOLoss:
    """A stateless loss object; the options are per call."""

    def __init__(self):
        self._reduce = {"grpo": self._per_completion, "bnpo": self._token_mean, "dr_grpo": self._constant}

    @staticmethod
    def _per_completion(x, m, B, L):
        return ((x * m).sum(-1) / m.sum(-1).clamp(min=1)).sum() / B

    @staticmethod
    def _token_mean(x, m, B, L):
        return (x * m).sum() / m.sum().clamp(min=1)

    @staticmethod
    def _constant(x, m, B, L):
        return (x * m).sum() / (B * L)

    def _validate(self, logps, ref_logps, advantages, beta, loss_type, max_completion_length, level):
        B, T = logps.shape
        if advantages.shape != (B,):
            raise ValueError(f"advantages should be [{B}], is {list(advantages.shape)}")
        if not isinstance(loss_type, str) or loss_type not in self._reduce:
            raise ValueError(f"loss_type {loss_type!r} unknown; one of {sorted(self._reduce)}")
        if level not in ("token", "sequence"):
            raise ValueError(f"importance_sampling_level {level!r} unknown")
        if beta > 0 and ref_logps is None:
            raise ValueError("beta > 0 but ref_logps is None")
        if max_completion_length is not None and max_completion_length < T:
            raise ValueError("max_completion_length < T")

    def __call__(self, logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
                 loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
        self._validate(logps, ref_logps, advantages, beta, loss_type, max_completion_length, importance_sampling_level)
        B, T = logps.shape
        dt = logps.dtype
        x = logps.double()
        m = mask.double()
        A = advantages.detach().double()[:, None]
        lr = x - old_logps.detach().double()
        if importance_sampling_level == "sequence":
            lr = ((lr * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)).expand(B, T)
        r = lr.exp()
        per = -torch.min(r * A, r.clamp(1 - epsilon_low, 1 + epsilon_high) * A)
        total = m.sum().clamp(min=1)
        if ref_logps is not None:
            d = ref_logps.detach().double() - x
            k3 = d.exp() - d - 1
            per = per + beta * k3
            mean_kl = ((k3 * m).sum() / total).detach().to(dt)
        else:
            mean_kl = torch.zeros((), dtype=dt, device=logps.device)
        L = T if max_completion_length is None else max_completion_length
        loss = self._reduce[loss_type](per, m, B, L).to(dt)
        flags = ((r > 1 + epsilon_high) & (A > 0)) | ((r < 1 - epsilon_low) & (A < 0))
        clip_fraction = ((flags.double() * m).sum() / total).detach().to(dt)
        return loss, mean_kl, clip_fraction


grpo_loss = GRPOLoss()
