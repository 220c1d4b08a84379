"""default_device: CUDA when available, else CPU, overridden by CONVDOCS_DEVICE."""

from __future__ import annotations

import pytest
import torch

from convdocs import default_device


@pytest.mark.parametrize("cuda", [True, False], ids=["with-cuda", "without-cuda"])
def test_without_override(monkeypatch, cuda):
    monkeypatch.delenv("CONVDOCS_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert default_device() == torch.device("cuda" if cuda else "cpu")


@pytest.mark.parametrize("wanted", ["cpu", "meta", "cuda:1"])
def test_override_wins_over_the_default(monkeypatch, wanted):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the default would be cuda
    monkeypatch.setenv("CONVDOCS_DEVICE", wanted)
    assert default_device() == torch.device(wanted)


def test_bad_override(monkeypatch):
    monkeypatch.setenv("CONVDOCS_DEVICE", "gpu-please")
    with pytest.raises(
        ValueError,
        match=r"CONVDOCS_DEVICE must name a torch device such as 'cpu' or 'cuda', got 'gpu-please'",
    ):
        default_device()


def test_cuda_override_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CONVDOCS_DEVICE", "cuda")
    with pytest.raises(ValueError, match=r"asks for 'cuda', but this torch .* has no CUDA device"):
        default_device()
