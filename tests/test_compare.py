"""compare_outputs: floats by value within tolerance, integers and text exact, devices ignored.

The GPU cases are the exact strings an NVIDIA H100 printed (torch 2.11.0+cu130), from
``reprs.txt`` and the verification log of the first GPU run (2026-11-27): they run here, on
the CPU, as plain strings.
"""

from __future__ import annotations

import pytest

from convdocs.verify import compare_outputs
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL, floats_close, tokenize

T = "tensor([[2.9292, 2.9292],\n        [2.9292, 2.9292]], grad_fn=<AddBackward0>)"

# (name, CPU pretty, CUDA pretty, CUDA print), as printed on the H100
H100_REPRS = [
    (
        "tuple",
        "(tensor([[ 0.9167, -0.9071]]), tensor([-0.0054]))",
        "(tensor([[ 0.9167, -0.9071]], device='cuda:0'),\n tensor([-0.0054], device='cuda:0'))",
        "(tensor([[ 0.9167, -0.9071]], device='cuda:0'), tensor([-0.0054], device='cuda:0'))",
    ),
    (
        "list3",
        "[tensor([1., 2., 3.]), tensor([4., 5., 6.]), tensor([7., 8., 9.])]",
        "[tensor([1., 2., 3.], device='cuda:0'),\n tensor([4., 5., 6.], device='cuda:0'),\n"
        " tensor([7., 8., 9.], device='cuda:0')]",
        "[tensor([1., 2., 3.], device='cuda:0'), tensor([4., 5., 6.], device='cuda:0'), "
        "tensor([7., 8., 9.], device='cuda:0')]",
    ),
    (
        "param",
        "Parameter containing:\ntensor([[0.3308, 0.8742]], requires_grad=True)",
        "Parameter containing:\ntensor([[0.3308, 0.8742]], device='cuda:0', requires_grad=True)",
        "Parameter containing:\ntensor([[0.3308, 0.8742]], device='cuda:0', requires_grad=True)",
    ),
    (
        "dict",
        "{'weight': tensor([[ 1., -1.]]), 'bias': tensor([0.])}",
        "{'weight': tensor([[ 1., -1.]], device='cuda:0'),\n 'bias': tensor([0.], device='cuda:0')}",
        "{'weight': tensor([[ 1., -1.]], device='cuda:0'), 'bias': tensor([0.], device='cuda:0')}",
    ),
    (
        "grad",
        "tensor([4., 6.], grad_fn=<MulBackward0>)",
        "tensor([4., 6.], device='cuda:0', grad_fn=<MulBackward0>)",
        "tensor([4., 6.], device='cuda:0', grad_fn=<MulBackward0>)",
    ),
    (
        "big",
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9.],\n"
        "        [10., 11., 12., 13., 14., 15., 16., 17., 18., 19.],\n"
        "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29.]])",
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9.],\n"
        "        [10., 11., 12., 13., 14., 15., 16., 17., 18., 19.],\n"
        "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29.]], device='cuda:0')",
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9.],\n"
        "        [10., 11., 12., 13., 14., 15., 16., 17., 18., 19.],\n"
        "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29.]], device='cuda:0')",
    ),
]

# docs/learning-a-kernel.md, last cell: shown in the document, and printed by the H100 (rtol=2e-3 there)
LEARNING_SHOWN = """\
epoch 5, loss 6.4064
epoch 10, loss 1.6444
epoch 15, loss 0.4424
epoch 20, loss 0.1215
(tensor([[ 0.9167, -0.9071]]), tensor([-0.0054]))
"""
LEARNING_ON_H100 = """\
epoch 5, loss 6.4064
epoch 10, loss 1.6444
epoch 15, loss 0.4424
epoch 20, loss 0.1215
(tensor([[ 0.9167, -0.9071]], device='cuda:0'),
 tensor([-0.0054], device='cuda:0'))
"""


def test_identical_outputs_match():
    result = compare_outputs(T, T)
    assert result and str(result) == "outputs match"


@pytest.mark.parametrize(
    ("name", "cpu", "pretty", "printed"), H100_REPRS, ids=[r[0] for r in H100_REPRS]
)
def test_h100_reprs_match_the_cpu_form_both_ways(name, cpu, pretty, printed):
    for gpu in (pretty, printed):
        assert compare_outputs(cpu, gpu), (name, str(compare_outputs(cpu, gpu)))
        assert compare_outputs(gpu, cpu), (name, str(compare_outputs(gpu, cpu)))


@pytest.mark.parametrize(
    ("name", "cpu", "pretty", "printed"), H100_REPRS, ids=[r[0] for r in H100_REPRS]
)
def test_h100_reprs_with_a_changed_number_still_fail(name, cpu, pretty, printed):
    first = next(t for t in tokenize(pretty) if t.kind == "float")
    line = pretty.split("\n")[first.line - 1]
    moved_line = line[: first.column - 1] + "9" + line[first.column :]  # its first digit becomes 9
    moved = "\n".join(
        moved_line if n == first.line - 1 else text for n, text in enumerate(pretty.split("\n"))
    )
    assert moved != pretty
    result = compare_outputs(cpu, moved)
    assert not result and "beyond tolerance" in str(result), (name, str(result))


def test_the_learning_page_on_the_h100_matches_within_its_tolerance():
    assert compare_outputs(LEARNING_SHOWN, LEARNING_ON_H100, rtol=2e-3)
    assert compare_outputs(LEARNING_SHOWN, LEARNING_ON_H100)  # every number printed is the same
    moved = LEARNING_ON_H100.replace("-0.0054", "-0.0154")
    result = compare_outputs(LEARNING_SHOWN, moved, rtol=2e-3)
    assert str(result) == (
        "line 5, column 40: expected '-0.0054', got '-0.0154' (beyond tolerance rtol=0.002, atol=1e-08)"
    )


@pytest.mark.parametrize(
    ("shown", "printed", "message"),
    [
        # a line break with no device suffix in its group is a real difference
        (
            "(tensor([1.]), tensor([2.]))",
            "(tensor([1.]),\n tensor([2.]))",
            "line 1, column 16: expected 'tensor', got 'a line break' "
            "(the code breaks the line here, the document does not; the line structure must match)",
        ),
        (
            "(tensor([1.]),\n tensor([2.]))",
            "(tensor([1.]), tensor([2.]))",
            "line 1, column 15: expected 'a line break', got 'tensor' "
            "(the document breaks the line here, the code does not; the line structure must match)",
        ),
        # outside brackets, a device suffix excuses nothing
        (
            "a tensor([1.])\nb",
            "a tensor([1.], device='cuda:0') b",
            "line 1, column 15: expected 'a line break', got 'b' "
            "(the document breaks the line here, the code does not; the line structure must match)",
        ),
        # inside brackets but not after a comma
        (
            "(tensor([1.], device='cuda:0') x)",
            "(tensor([1.]\n) x)",
            "line 1, column 30: expected ')', got 'a line break' "
            "(the code breaks the line here, the document does not; the line structure must match)",
        ),
        # an extra blank line in the wrapped group
        (
            "[tensor([1.]), tensor([2.])]",
            "[tensor([1.], device='cuda:0'),\n\n tensor([2.], device='cuda:0')]",
            "line 1, column 16: expected 'tensor', got 'a line break' "
            "(the code breaks the line here, the document does not; the line structure must match)",
        ),
    ],
    ids=["no-suffix", "no-suffix-reversed", "outside-brackets", "not-after-comma", "blank-line"],
)
def test_other_line_structure_differences_fail(shown, printed, message):
    assert str(compare_outputs(shown, printed)) == message


def test_a_grad_fn_moved_by_a_device_suffix():
    cpu = "tensor([[0.9075, -0.9075, 0.1234, 0.5678, 0.1111, 0.2222]], grad_fn=<AddBackward0>)"
    cuda = "tensor([[0.9075, -0.9075, 0.1234, 0.5678, 0.1111, 0.2222]], device='cuda:0',\n       grad_fn=<AddBackward0>)"
    assert compare_outputs(cpu, cuda) and compare_outputs(cuda, cpu)
    result = compare_outputs(cpu, cuda.replace("AddBackward0", "SubBackward0"))
    assert str(result) == (
        "line 1, column 70: expected 'AddBackward0', got 'SubBackward0' (text must match exactly)"
    )
    # the same break without the device suffix is not excused
    assert not compare_outputs(cpu, cuda.replace(", device='cuda:0'", ""))


def test_a_device_suffix_on_a_line_of_its_own():
    cpu = "tensor([0.1000, 0.2000, 0.3000, 0.4000, 0.5000, 0.6000, 0.7000, 0.8000, 0.9000])"
    cuda = cpu[:-1] + ",\n       device='cuda:0')"
    assert compare_outputs(cpu, cuda)


@pytest.mark.parametrize(
    ("actual", "message"),
    [
        (
            T.replace("2.9292, 2.9292],", "2.9292, 2.9392],", 1),
            "line 1, column 18: expected '2.9292', got '2.9392' (beyond tolerance rtol=1e-06, atol=1e-08)",
        ),
        (
            T.replace("AddBackward0", "MulBackward0"),
            "line 2, column 37: expected 'AddBackward0', got 'MulBackward0' (text must match exactly)",
        ),
        (
            T.replace("tensor", "Tensor"),
            "line 1, column 1: expected 'tensor', got 'Tensor' (text must match exactly)",
        ),
        (
            T.replace("[[2.9292, 2.9292],", "[[2.9292, 2.9292, 2.9292],"),
            "line 1, column 24: expected ']', got ',' (text must match exactly)",
        ),
        (
            T.split("\n")[0],
            "line 2, column 9: expected '[', got 'end of output' (expected 2 lines, got 1 line)",
        ),
        (
            T + "\nextra",
            "line 2, column 51: expected 'end of output', got 'a line break' (expected 2 lines, got 3 lines)",
        ),
        (
            T.replace("]],", "],"),
            "line 2, column 25: expected ']', got ',' (text must match exactly)",
        ),
    ],
    ids=["number", "grad-fn", "word", "element", "missing-line", "extra-line", "bracket"],
)
def test_differences_fail_and_are_named(actual, message):
    result = compare_outputs(T, actual)
    assert not result
    assert str(result) == message


def test_integers_match_exactly():
    assert not compare_outputs("torch.Size([2, 2])", "torch.Size([2, 3])")
    assert not compare_outputs("Epochs is 19", "Epochs is 20")
    assert compare_outputs("(6, 7)", "(6,  7)")


def test_integral_floats_have_no_slack():
    assert not compare_outputs("tensor([2., 5.])", "tensor([2., 4.])")
    assert not compare_outputs("tensor([19., 25.])", "tensor([19., 26.])")


def test_float_kind_must_match():
    result = compare_outputs("5.", "5")
    assert str(result) == "line 1, column 1: expected '5.', got '5' (expected float, got int)"


def test_half_a_last_digit_of_slack_only_at_the_same_precision():
    # 2.9292 and 2.92924 differ in printed precision: no slack, and 4e-5 is beyond rtol=1e-6
    assert not compare_outputs("2.9292", "2.92924")
    assert compare_outputs("2.9292", "2.92924", rtol=2e-5)
    assert not compare_outputs("2.9292", "2.9293")
    assert not compare_outputs("4.2", "4.3")
    assert not compare_outputs("0.3308", "0.3318")


@pytest.mark.parametrize(
    ("shown", "printed"),
    [
        ("x = 3.1", "x = 3.14159"),
        ("x = 3.14159", "x = 3.1"),
        ("0.01", "0.011"),
        ("0.011", "0.01"),
        ("5e-06", "1e-05"),
        ("lr 0.034", "lr 0.03"),
        ("1.", "1.2"),
        ("0.5", "0.45"),
    ],
)
def test_a_number_shown_with_other_digits_than_printed_fails(shown, printed):
    result = compare_outputs(shown, printed)
    assert not result and "beyond tolerance" in str(result)


@pytest.mark.parametrize(
    ("shown", "printed"),
    [
        ("tensor([1., 2.])", "tensor([1.0000, 2.0000])"),
        ("4.20", "4.2"),
        ("1e-05", "1.000001e-05"),
        ("0.5", "0.50000"),
    ],
)
def test_other_digits_with_the_same_value_match(shown, printed):
    assert compare_outputs(shown, printed)


def test_versions_and_identifiers_are_text():
    assert str(compare_outputs("convdocs 0.1.0", "convdocs 0.14.0")) == (
        "line 1, column 10: expected '0.1.0', got '0.14.0' (text must match exactly)"
    )
    assert not compare_outputs("torch 2.13.0+cpu", "torch 2.1.0+cpu")
    assert not compare_outputs("torch 2.13.0+cpu", "torch 2.13.0+cu130")
    assert not compare_outputs("conv2d", "conv3d")
    assert compare_outputs("torch 2.13.0+cpu", "torch 2.13.0+cpu")


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


def test_any_printed_exponent_compares_without_an_error():
    """Exponents beyond a double's (and a decimal's default context's) compare by value; one
    beyond any decimal's, only as written."""
    assert compare_outputs("1e999999999", "1e999999999")
    assert not compare_outputs("1e999999999", "2e999999999")
    assert compare_outputs("1e-999999999", "1.0e-999999999")
    assert compare_outputs("1e99999999999999999999", "1e99999999999999999999")
    assert not compare_outputs("1e99999999999999999999", "1e99999999999999999998")


def test_device_suffix_is_ignored_and_nothing_else():
    assert compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='cuda:0')")
    assert compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='cuda:1')")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], device='mps:0')")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], dtype=torch.float64)")
    assert not compare_outputs("tensor([1., 2.])", "tensor([1., 2.], requires_grad=True)")


def test_line_structure_matters_but_trailing_space_does_not():
    assert compare_outputs("a\nb\n\n", "a   \nb")
    assert compare_outputs("a\r\nb\r\n", "a\nb")
    assert not compare_outputs("a b", "a\nb")
    assert not compare_outputs("a\n\nb", "a\nb")


def test_whitespace_between_tokens_is_ignored_but_not_token_boundaries():
    assert compare_outputs("f(1,  2)", "f(1, 2)")
    assert not compare_outputs("hello world", "helloworld")


def test_bad_arguments():
    with pytest.raises(TypeError, match="compare_outputs expects expected to be a str, got int"):
        compare_outputs(1, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expects actual to be a str, got NoneType"):
        compare_outputs("1", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expects a finite rtol >= 0, got -1"):
        compare_outputs("1", "1", rtol=-1)
    with pytest.raises(ValueError, match=r"finite atol >= 0, got nan"):
        compare_outputs("1", "1", atol=float("nan"))
    with pytest.raises(TypeError, match=r"expects rtol to be a number, got str"):
        compare_outputs("1", "1", rtol="abc")  # type: ignore[arg-type]


def test_defaults_are_documented_values():
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (1e-6, 1e-8)
    assert floats_close("1.0", "1.0", 0, 0)
    assert not floats_close("1.0", "1.1", 0, 0)


def test_tokens():
    kinds = [t.kind for t in tokenize("torch.float32 (1, 2.5e-3) nan v2.13.0 2.13.0\n")]
    assert kinds == [
        "word",
        "other",
        "word",
        "other",
        "int",
        "other",
        "float",
        "other",
        "float",
        "word",
        "other",
        "int",
        "other",
        "int",
        "version",
    ]
    assert [(t.kind, t.line, t.column) for t in tokenize("x, device='cuda:0'\n  y\n\n")] == [
        ("word", 1, 1),
        ("device", 1, 2),
        ("newline", 1, 19),
        ("word", 2, 3),
    ]
