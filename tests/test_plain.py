"""grader.sandbox.plain: the format between the grader and its children. What the writer writes
comes back as it was; what it would never write is refused with a reason (the hostile files
themselves are in test_hostile_workspaces.py)."""
from __future__ import annotations

import math

import pytest
import torch

from grader.sandbox import plain
from grader.sandbox.untrusted import Untrusted


def roundtrip(obj):
    return plain.loads(plain.dumps(obj), max_elements=1 << 20)


def test_plain_data_comes_back_with_its_types():
    obj = {"none": None, "flags": [True, False], "int": -(2**62), "float": 0.1, "inf": float("inf"),
           "text": "π(y_l) ≥ 0\n\x1b", "tuple": (1, (2.5, "x")), "int_keys": {0: "a", 7: ["b"]},
           "tag_like_key": {"\0tensor": 1}, "dtype": torch.bfloat16, "device": torch.device("cpu"),
           "size": torch.Size([2, 3]), "complex": 1.5 - 2j, "nested": [[[]], {}]}
    back = roundtrip(obj)
    nan = roundtrip({"nan": float("nan")})["nan"]
    assert back == obj and math.isnan(nan)
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple
    assert type(back["size"]) is torch.Size and back["dtype"] is torch.bfloat16
    assert list(back) == list(obj)  # key order kept


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                                   torch.complex128, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                                   torch.bool])
def test_tensors_of_every_dtype_come_back_bit_for_bit(dtype):
    g = torch.Generator().manual_seed(0)
    values = (torch.randn(3, 5, generator=g, dtype=torch.float64) * 100)
    t = values.to(dtype) if not dtype.is_complex else torch.complex(values, -values).to(dtype)
    if dtype.is_floating_point:
        t[0, 0], t[0, 1], t[0, 2] = float("nan"), float("inf"), -0.0
    back = roundtrip({"t": t, "scalar": t[1, 1].clone(), "empty": t[:0]})
    assert back["t"].dtype == dtype and back["t"].shape == (3, 5)
    assert torch.equal(back["t"].view(-1).view(torch.uint8), t.reshape(-1).view(torch.uint8))  # NaN, -0.0 too
    assert back["scalar"].dim() == 0 and back["scalar"].dtype == dtype
    assert back["empty"].shape == (0, 5)


def test_strided_tensors_come_back_contiguous_with_their_values():
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    sliced, transposed = base[:, :-1], base.t()
    expanded = torch.tensor([[1.0, 2.0]]).expand(3, 2)
    plain_ = roundtrip([sliced, transposed, expanded])
    assert all(t.is_contiguous() and torch.equal(t, u) for t, u in zip(plain_, [sliced, transposed, expanded]))


def test_what_is_not_plain_data_is_refused_by_name():
    class Agreeable(torch.Tensor):
        pass

    for value, named in [(torch.zeros(2).as_subclass(Agreeable), "Agreeable (a torch.Tensor subclass)"),
                         (torch.nn.Parameter(torch.zeros(2)), "torch.nn.parameter.Parameter (a torch.Tensor subclass)"),
                         (object(), "builtins.object"),
                         (torch.zeros(2).to_sparse(), "tensor of layout torch.sparse_coo"),
                         ({1, 2}, "builtins.set")]:
        with pytest.raises(plain.NotPlain, match=named.replace("(", r"\(").replace(")", r"\)")):
            roundtrip({"runs": [value]})


def test_meta_tensors_are_refused_not_a_crash_of_the_writer():
    with pytest.raises(plain.NotPlain, match="tensor on the meta device"):
        roundtrip(torch.empty(2, device="meta"))


def test_a_tensor_larger_than_the_kata_allows_is_refused_before_it_is_copied():
    data = plain.dumps({"runs": [torch.zeros(1).expand(1000)]})  # 8 bytes of storage
    assert plain.loads(data, max_elements=1000)["runs"][0].shape == (1000,)
    with pytest.raises(Untrusted, match=r"hold a tensor of shape \(1000,\) at the top\['runs'\]\[0\], larger than"):
        plain.loads(data, max_elements=999)


def test_one_tensor_referenced_many_times_counts_each_time():
    t = plain.dumps({"runs": [torch.zeros(1000)]})
    # hand-edit: the same table entry referred to from 40000 places (1000 elements each)
    import json

    n = int.from_bytes(t[8:16], "little")
    header = json.loads(t[16:16 + n])
    header["tree"]["runs"] = [{"\0tensor": 0}] * 40_000
    head = json.dumps(header).encode()
    body = t[16 + n + (-(16 + n) % plain.ALIGN):]
    forged = plain.MAGIC + len(head).to_bytes(8, "little") + head
    forged += b"\0" * (-len(forged) % plain.ALIGN) + body
    with pytest.raises(Untrusted, match="larger than anything"):
        plain.loads(forged, max_elements=1 << 20)


def test_a_file_the_grader_wrote_is_read_back_as_cases(tmp_path):
    path = tmp_path / "cases.bin"
    cases = [{"name": "c", "inputs": {"x": torch.ones(2, 3)}, "options": {"beta": 0.1}, "layout": {"x": "sliced"}}]
    plain.dump(cases, str(path))
    back = plain.load(str(path))
    assert back[0]["options"] == {"beta": 0.1} and back[0]["layout"] == {"x": "sliced"}
    assert torch.equal(back[0]["inputs"]["x"], torch.ones(2, 3))


def test_a_tensor_whose_size_one_dimension_has_any_stride_is_written():
    """`torch.randn(1, 2)[:, 0]` counts as contiguous with stride (2,): a column of a stack with
    B = 1, which correct code returns (a [B, 2] stack of chosen and rejected read back by column).
    Writing it once crashed the child's writer, and the grader blamed the submission."""
    for t in (torch.randn(1, 2)[:, 0], torch.randn(3, 2)[:1, 1], torch.randn(1, 1, 2)[..., 1], torch.randn(4, 5)[2:3, 1:4]):
        assert t.is_contiguous()
        back = roundtrip(t)
        assert torch.equal(back, t) and back.is_contiguous()


# --------------------------------------------------------------------------- audit 5
class _NoInt(int):
    def __int__(self):
        raise RuntimeError("no int for you")

    def __index__(self):
        raise RuntimeError("no index for you")


class _NoFloat(float):
    def __float__(self):
        raise RuntimeError("no float for you")


class _NoStr(str):
    def __str__(self):
        raise RuntimeError("no str for you")


class _NoReal(complex):
    @property
    def real(self):
        raise RuntimeError("no real part for you")


def test_the_writer_takes_a_subclass_value_by_its_base_type_never_through_the_subclass():
    """A submission's default `class Beta(int)` whose __int__ raises made the worker's own writer
    fail (audit 5, P7): values are taken with the base type's methods."""
    back = roundtrip({"int": _NoInt(3), "float": _NoFloat(1.5), "str": _NoStr("x"), "complex": _NoReal(1, 2)})
    assert back == {"int": 3, "float": 1.5, "str": "x", "complex": 1 + 2j}
    assert [type(v) for v in back.values()] == [int, float, str, complex]


def test_text_with_a_lone_surrogate_comes_back_escaped():
    """A child's "\\ud800" (or a key of it) is stored as its escape: no writer of the report fails on it."""
    back = roundtrip({"message": "bad \ud800 value", "\udcff": "k"})
    assert back == {"message": "bad \\ud800 value", "\\udcff": "k"}


def test_any_error_of_malformed_data_is_the_files(tmp_path, monkeypatch):
    """A value Python cannot build (complex(10**400, 0): OverflowError) is the result file's fault,
    reported as Untrusted, never an exception that stops the cohort (audit 5, P2)."""
    import json

    head = json.dumps({"tree": {"x": {"\0complex": [10**400, 0]}}, "tensors": []}).encode()
    path = tmp_path / "result.bin"
    path.write_bytes(plain.MAGIC + len(head).to_bytes(8, "little") + head)
    with pytest.raises(Untrusted, match=r"they hold a malformed 'complex' value at the top\['x'\]"):
        plain.load_result(str(path), 1 << 20, 1 << 20)

    def unforeseen(data, max_elements):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(plain, "loads", unforeseen)
    with pytest.raises(Untrusted, match=r"they hold a value that cannot be built \(OverflowError: int too large"):
        plain.load_result(str(path), 1 << 20, 1 << 20)
