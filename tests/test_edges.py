"""The stripe image, the edge kernel and detect_edges."""

from __future__ import annotations

import pytest
import torch

from convdocs import detect_edges, edge_kernel, stripe_image


def test_stripe_image_is_the_books(device):
    X = stripe_image(device=device)
    assert X.shape == (6, 8) and X.device == device
    assert torch.equal(X[:, 2:6], torch.zeros(6, 4, device=device))
    assert torch.equal(X[:, [0, 1, 6, 7]], torch.ones(6, 4, device=device))


def test_edge_map_marks_both_edges(device):
    Y = detect_edges(stripe_image(device=device))
    expected_row = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0], device=device)
    assert torch.equal(Y, expected_row.expand(6, 7))


def test_vertical_edges_only(device):
    X = stripe_image(device=device)
    assert torch.equal(detect_edges(X.t()), torch.zeros(8, 5, device=device))
    assert torch.equal(detect_edges(X.t(), edge_kernel(device=device).t()), detect_edges(X).t())


def test_follows_dtype_and_device(device):
    Y = detect_edges(stripe_image(dtype=torch.float64, device=device))
    assert Y.dtype == torch.float64 and Y.device == device


def test_bad_input(device):
    with pytest.raises(
        TypeError, match=r"detect_edges expects input X to be a torch\.Tensor, got ndarray"
    ):
        import numpy

        detect_edges(numpy.ones((3, 3)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"detect_edges expects a 2-D input X, got shape \(8,\)"):
        detect_edges(torch.ones(8, device=device))
    with pytest.raises(ValueError, match=r"detect_edges expects a kernel no larger than the input"):
        detect_edges(torch.ones(1, 1, device=device))
    with pytest.raises(ValueError, match=r"detect_edges expects X and K with the same dtype"):
        detect_edges(
            torch.ones(3, 3, device=device), torch.ones(1, 2, dtype=torch.float64, device=device)
        )


@pytest.mark.parametrize("builder", [stripe_image, edge_kernel])
def test_builders_check_dtype_and_device(builder):
    name = builder.__name__
    with pytest.raises(
        ValueError, match=rf"{name} expects a floating-point dtype, got torch.int64"
    ):
        builder(dtype=torch.int64)
    with pytest.raises(
        ValueError, match=rf"{name} expects a torch device such as 'cpu' or 'cuda', got 'gpu'"
    ):
        builder(device="gpu")
