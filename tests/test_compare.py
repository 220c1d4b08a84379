"""compare_outputs: floats within tolerance, integers and text exact, device suffixes ignored."""

from __future__ import annotations

import pytest

from convdocs.verify import compare_outputs
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL, floats_close, normalise, tokenize

T = "tensor([[2.9292, 2.9292],\n        [2.9292, 2.9292]], grad_fn=<AddBackward0>)"


def test_identical_outputs_match():
    result = compare_outputs(T, T)
    assert result and str(result) == "outputs match"


@pytest.mark.parametrize(
    ("actual", "fragment"),
    [
        (T.replace("2.9292, 2.9292],", "2.9292, 2.9392],", 1), "line 1, column 18: expected '2.9292', got '2.9392'"),
        (T.replace("AddBackward0", "MulBackward0"), "expected 'AddBackward0', got 'MulBackward0'"),
        (T.replace("tensor", "Tensor"), "expected 'tensor', got 'Tensor'"),
        (T.replace("[[2.9292, 2.9292],", "[[2.9292, 2.9292, 2.9292],"), "line 1"),
        (T.split("\n")[0], "expected 2 lines, got 1"),
        (T + "\nextra", "expected 2 lines, got 3"),
        (T.replace("]],", "],"), "line 2"),
    ],
)
def test_differences_fail_and_are_named(actual, fragment):
    result = compare_outputs(T, actual)
    assert not result
    assert fragment in str(result)


def test_integers_match_exactly():
    assert not compare_outputs("torch.Size([2, 2])", "torch.Size([2, 3])")
    assert not compare_outputs("Epochs is 19", "Epochs is 20")
    assert compare_outputs("(6, 7)", "(6,  7)")


def test_integral_floats_have_no_slack():
    assert not compare_outputs("tensor([2., 5.])", "tensor([2., 4.])")
    assert not compare_outputs("tensor([19., 25.])", "tensor([19., 26.])")


def test_float_kind_must_match():
    result = compare_outputs("5.", "5")
    assert not result and "expected float, got int" in str(result)


def test_half_a_last_digit_of_slack():
    # 2.9292 stands for [2.92915, 2.92925]: noise below half its last digit passes, a digit does not
    assert compare_outputs("2.9292", "2.92924")
    assert not compare_outputs("2.9292", "2.9293")
    assert not compare_outputs("4.2", "4.3")
    assert not compare_outputs("0.3308", "0.3318")


def test_relative_noise_on_long_floats():
    value = 9.272306442260742
    assert compare_outputs(f"loss {value}", f"loss {value * (1 + 1e-7)!r}")
    assert not compare_outputs(f"loss {value}", f"loss {value * (1 + 1e-4)!r}")


def test_explicit_tolerance():
    assert not compare_outputs("1.000", "1.010")
    assert compare_outputs("1.000", "1.010", rtol=1e-2)
    assert compare_outputs("0.0000001", "0.0000003", atol=1e-6)


def test_negative_zero_and_padding():
    assert compare_outputs("tensor([ 0.,  1., -1.])", "tensor([-0., 1., -1.])")
    assert not compare_outputs("tensor([ 0.,  1., -1.])", "tensor([ 0.,  1.,  1.])")


def test_nan_and_inf():
    assert compare_outputs("tensor([nan, inf, -inf])", "tensor([nan, inf, -inf])")
    assert not compare_outputs("tensor([nan])", "tensor([0.])")
    assert not compare_outputs("tensor([inf])", "tensor([-inf])")
    assert not compare_outputs("tensor([1.])", "tensor([inf])")


def test_scientific_notation():
    assert compare_outputs("tensor([1.0000e-08, 2.5000e+03])", "tensor([1.0000e-08, 2.5000e+03])")
    assert not compare_outputs("tensor([1.0000e-03])", "tensor([1.0002e-03])")
    assert compare_outputs("tensor([1.0000e-08])", "tensor([1.2000e-08])")  # within atol=1e-8
    assert compare_outputs("1e-05", "1.000001e-05")


def test_device_suffix_is_ignored_and_nothing_else():
    assert compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='cuda:0')")
    assert compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='cuda:1')")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='mps:0')")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], dtype=torch.float64)")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], requires_grad=True)")


def test_suffix_moved_to_a_new_line_by_the_device():
    cpu = "tensor([[0.9075, -0.9075, 0.1234, 0.5678, 0.1111, 0.2222]], grad_fn=<AddBackward0>)"
    cuda = ("tensor([[0.9075, -0.9075, 0.1234, 0.5678, 0.1111, 0.2222]], device='cuda:0',\n"
            "       grad_fn=<AddBackward0>)")
    assert compare_outputs(cpu, cuda)
    assert not compare_outputs(cpu, cuda.replace("AddBackward0", "SubBackward0"))


def test_line_structure_matters_but_trailing_space_does_not():
    assert compare_outputs("a\nb\n\n", "a   \nb")
    assert not compare_outputs("a b", "a\nb")


def test_whitespace_between_tokens_is_ignored_but_not_token_boundaries():
    assert compare_outputs("f(1,  2)", "f(1, 2)")
    assert not compare_outputs("hello world", "helloworld")


def test_bad_arguments():
    with pytest.raises(TypeError, match="compare_outputs expects expected to be a str, got int"):
        compare_outputs(1, "1")
    with pytest.raises(TypeError, match="expects actual to be a str, got NoneType"):
        compare_outputs("1", None)
    with pytest.raises(ValueError, match=r"expects a finite rtol >= 0, got -1"):
        compare_outputs("1", "1", rtol=-1)
    with pytest.raises(ValueError, match=r"finite atol >= 0, got nan"):
        compare_outputs("1", "1", atol=float("nan"))


def test_defaults_are_documented_values():
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (1e-6, 1e-8)
    assert floats_close("1.0", "1.0", 0, 0)


def test_tokens():
    assert [t.kind for t in tokenize("torch.float32 (1, 2.5e-3) nan")] == [
        "word", "other", "word", "other", "int", "other", "float", "other", "float",
    ]
    assert normalise("x, device='cuda:0'\n\n") == ["x"]
