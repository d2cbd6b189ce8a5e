# A correct GAE: A = δ ⋆ (γλ)^k as a time-reversed convolution with torch.fft in float64, δ zeroed past
# each row's end.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    dtype = rewards.dtype
    with torch.no_grad():
        m = mask.double()
        r, v = rewards.double() * m, values.double() * m
        b, t = r.shape
        if t == 0:
            return rewards.new_zeros(b, 0), rewards.new_zeros(b, 0)
        nv = torch.cat([v[:, 1:], torch.zeros(b, 1, dtype=v.dtype)], 1)
        nm = torch.cat([m[:, 1:], torch.zeros(b, 1, dtype=m.dtype)], 1)
        delta = (r + gamma * nv * nm - v) * m  # zero past each row's end: right padding stops the sum
        k = torch.arange(t, dtype=torch.float64)
        gl = gamma * lam
        kernel = torch.where(k == 0, torch.ones_like(k), torch.tensor(gl, dtype=torch.float64) ** k)
        n = 2 * t
        rev = torch.flip(delta, [1])
        conv = torch.fft.irfft(torch.fft.rfft(rev, n) * torch.fft.rfft(kernel, n), n)[:, :t]
        a = torch.flip(conv, [1]) * m
        return a.to(dtype), ((a + v) * m).to(dtype)
