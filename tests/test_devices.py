"""default_device: CUDA when available, else CPU, overridden by CONVDOCS_DEVICE."""

from __future__ import annotations

import pytest
import torch

from convdocs import default_device


def test_without_override(monkeypatch):
    monkeypatch.delenv("CONVDOCS_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device() == torch.device(expected)


def test_override(monkeypatch):
    monkeypatch.setenv("CONVDOCS_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")


def test_bad_override(monkeypatch):
    monkeypatch.setenv("CONVDOCS_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match=r"CONVDOCS_DEVICE must name a torch device such as 'cpu' or 'cuda', got 'gpu-please'"):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_override_without_cuda(monkeypatch):
    monkeypatch.setenv("CONVDOCS_DEVICE", "cuda")
    with pytest.raises(ValueError, match=r"asks for 'cuda', but this torch .* has no CUDA device"):
        default_device()
