"""learn_kernel: it converges to [1, -1], the loss falls every epoch, it repeats, it checks input."""

from __future__ import annotations

import itertools

import pytest
import torch

from convdocs import corr2d, detect_edges, learn_kernel, stripe_image

Pair = tuple[torch.Tensor, torch.Tensor]


@pytest.fixture
def data(device: torch.device) -> Pair:
    X = stripe_image(device=device)
    return X, detect_edges(X)


def test_converges_to_the_edge_kernel(data: Pair, device):
    result = learn_kernel(*data, (1, 2), lr=0.03, epochs=60)
    assert result.kernel.device == data[0].device
    torch.testing.assert_close(
        result.kernel, torch.tensor([[1.0, -1.0]], device=device), atol=1e-2, rtol=0
    )
    assert result.losses[-1] < 1e-3


def test_loss_falls_every_epoch(data: Pair):
    losses = learn_kernel(*data, (1, 2)).losses
    assert len(losses) == 20 and all(isinstance(v, float) for v in losses)
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))


def test_same_seed_same_result_other_seed_other_start(data: Pair):
    a, b = learn_kernel(*data, (1, 2), seed=3), learn_kernel(*data, (1, 2), seed=3)
    assert torch.equal(a.kernel, b.kernel) and a.losses == b.losses
    assert learn_kernel(*data, (1, 2), seed=4).losses[0] != a.losses[0]


def test_does_not_disturb_the_global_generator(data: Pair):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    learn_kernel(*data, (1, 2), epochs=1)
    assert torch.equal(torch.rand(3), expected)


def test_learns_a_2x2_kernel_in_float64(device):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(8, 8, generator=g, dtype=torch.float64).to(device)
    K = torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=torch.float64, device=device)
    result = learn_kernel(X, corr2d(X, K), 2, lr=0.01, epochs=300)
    assert result.kernel.dtype == torch.float64
    torch.testing.assert_close(result.kernel, K, atol=1e-4, rtol=0)


def test_verbose_prints_the_notebooks_lines(data: Pair, capsys):
    result = learn_kernel(*data, (1, 2), epochs=3, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Epochs is {i + 1}, loss is {loss}" for i, loss in enumerate(result.losses)]


def test_runs_on_a_given_device(data: Pair, device):
    on_cpu = learn_kernel(*data, (1, 2), device="cpu", epochs=2)
    assert on_cpu.kernel.device.type == "cpu"
    here = learn_kernel(data[0].cpu(), data[1].cpu(), (1, 2), device=device, epochs=2)
    assert here.kernel.device == data[0].device


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            ("x", torch.ones(6, 7), (1, 2)),
            {},
            TypeError,
            "learn_kernel expects input X to be a torch.Tensor, got str",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 6), (1, 2)),
            {},
            ValueError,
            r"expects Y of shape \(6, 7\) for X of shape \(6, 8\) and kernel_size \(1, 2\), got shape \(6, 6\)",
        ),
        (
            (torch.ones(1, 6, 8), torch.ones(6, 7), (1, 2)),
            {},
            ValueError,
            r"2-D input X, got shape \(1, 6, 8\)",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7, dtype=torch.float64), (1, 2)),
            {},
            ValueError,
            "same dtype",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (0, 2)),
            {},
            ValueError,
            r"positive kernel_size, got \(0, 2\)",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (7, 2)),
            {},
            ValueError,
            r"kernel no larger than the input, got kernel \(7, 2\)",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"lr": 0},
            ValueError,
            "finite lr > 0, got 0",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"lr": -0.1},
            ValueError,
            r"lr > 0, got -0.1",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"lr": float("inf")},
            ValueError,
            r"finite lr > 0, got inf",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"lr": float("nan")},
            ValueError,
            r"finite lr > 0, got nan",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"device": "gpu0"},
            ValueError,
            r"expects a torch device such as 'cpu' or 'cuda', got 'gpu0'",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"lr": "0.1"},
            TypeError,
            "lr to be a number, got str",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"epochs": 0},
            ValueError,
            "epochs >= 1, got 0",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"epochs": 2.0},
            TypeError,
            "epochs to be an int, got float",
        ),
        (
            (torch.ones(6, 8), torch.ones(6, 7), (1, 2)),
            {"seed": "a"},
            TypeError,
            "seed to be an int, got str",
        ),
        (
            (torch.ones(6, 8, dtype=torch.int64), torch.ones(6, 7), (1, 2)),
            {},
            ValueError,
            "floating-point input X",
        ),
    ],
)
def test_bad_input(args, kwargs, error, message, device):
    args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)
    with pytest.raises(error, match=message):
        learn_kernel(*args, **kwargs)
