"""grader.checks.torch_state: each process-wide setting a call changes is named and put back."""
import pytest
import torch

from grader.checks import torch_state

# A change to each setting, by the call a submission would make (in SETTINGS' order).
CHANGES = {
    "default dtype": lambda: torch.set_default_dtype(torch.float64),
    "default device": lambda: torch.set_default_device("meta"),
    "random number generator": lambda: torch.manual_seed(0),
    "thread count": lambda: torch.set_num_threads(torch.get_num_threads() + 1),
    "anomaly detection": lambda: torch.autograd.set_detect_anomaly(True),
    "deterministic algorithms": lambda: torch.use_deterministic_algorithms(True),
    "float32 matmul precision": lambda: setattr(torch.backends.cuda.matmul, "allow_tf32", True),
    "autograd multithreading": lambda: torch.autograd.set_multithreading_enabled(False),
    "CPU autocast": lambda: torch.set_autocast_enabled("cpu", True),
    "denormal flushing": lambda: torch.set_flush_denormal(True),
    "cuDNN TF32 flag": lambda: setattr(torch.backends.cudnn, "allow_tf32", False),
    "cuDNN benchmark flag": lambda: setattr(torch.backends.cudnn, "benchmark", True),
    "cuDNN deterministic flag": lambda: setattr(torch.backends.cudnn, "deterministic", True),
}


def test_every_setting_has_a_change_here():
    assert [next(k for k in CHANGES if s.what.startswith(k)) for s in torch_state.SETTINGS] == list(CHANGES)


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_changed_setting_is_named_and_put_back(name):
    if name == "denormal flushing" and not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals (torch.set_flush_denormal returns False)")
    torch.rand(1)
    before = torch_state.snapshot()
    CHANGES[name]()
    try:
        assert torch_state.restore(before).startswith(f"changed torch's {name}")
        assert torch_state.restore(before) == ""  # the first restore put everything back
        assert all(s.same(s.read(), b) for s, b in zip(torch_state.SETTINGS, before))
    finally:
        torch_state.restore(before)


def test_nothing_changed_reads_empty():
    before = torch_state.snapshot()
    torch.zeros(3).sum()
    assert torch_state.restore(before) == ""
