# A correct GAE as the bidiagonal system (I - γλ·diag(m_{t+1})·S) A = δ, solved with
# torch.linalg.solve_triangular in float64.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    dtype = rewards.dtype
    r, v = rewards.detach().double(), values.detach().double()
    m = mask.double()
    b, t = r.shape
    r, v = r * m, v * m
    if t == 0:
        z = torch.zeros(b, 0, dtype=dtype)
        return z, z.clone()
    nm = torch.nn.functional.pad(m[:, 1:], (0, 1))
    nv = torch.nn.functional.pad(v[:, 1:], (0, 1))
    delta = (r + gamma * nv * nm - v) * m  # [B, T]
    # upper bidiagonal U with 1 on the diagonal and -γλ·m_{t+1} above it: U A = δ
    eye = torch.eye(t, dtype=torch.float64).expand(b, t, t)
    sup = torch.diag_embed(-gamma * lam * nm[:, :-1], offset=1)
    u = eye + sup
    a = torch.linalg.solve_triangular(u, delta.unsqueeze(-1), upper=True).squeeze(-1) * m
    return a.to(dtype), ((a + v) * m).to(dtype)
