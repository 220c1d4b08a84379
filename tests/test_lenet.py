"""LeNet: the book's shapes and parameter count, and a short reproducible training run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convdocs import History, accuracy, init_cnn, lenet, load_digits, train_classifier

SHAPES = [
    ("Conv2d", (1, 6, 28, 28)),
    ("Sigmoid", (1, 6, 28, 28)),
    ("AvgPool2d", (1, 6, 14, 14)),
    ("Conv2d", (1, 16, 10, 10)),
    ("Sigmoid", (1, 16, 10, 10)),
    ("AvgPool2d", (1, 16, 5, 5)),
    ("Flatten", (1, 400)),
    ("Linear", (1, 120)),
    ("Sigmoid", (1, 120)),
    ("Linear", (1, 84)),
    ("Sigmoid", (1, 84)),
    ("Linear", (1, 10)),
]


def test_the_books_layer_shapes(device):
    net = lenet().to(device)
    X = torch.rand(1, 1, 28, 28, device=device)
    seen = []
    for layer in net:
        X = layer(X)
        seen.append((type(layer).__name__, tuple(X.shape)))
    assert seen == SHAPES


def test_parameter_count():
    counts = [sum(p.numel() for p in layer.parameters()) for layer in lenet()]
    assert [c for c in counts if c] == [156, 2416, 48120, 10164, 850]
    assert sum(counts) == 61706


def test_init_cnn_is_xavier_uniform():
    torch.manual_seed(0)
    net = lenet()
    net.apply(init_cnn)
    linear = net[7]  # Linear(400, 120)
    assert isinstance(linear, nn.Linear)
    largest = linear.weight.abs().max().item()
    bound = (6 / (400 + 120)) ** 0.5
    assert 0.9 * bound < largest <= bound


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_a_short_run_learns_and_repeats(device, digits):
    def run() -> History:
        torch.manual_seed(0)
        net = nn.Sequential(  # a ReLU/max-pool LeNet learns in one or two epochs
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
        return train_classifier(net, digits, epochs=2, lr=0.1, batch_size=32, device=device)

    first, second = run(), run()
    assert first == second  # deterministic, on either device
    assert len(first.losses) == 2 and first.losses[1] < first.losses[0]
    assert first.test_accuracies[-1] > 0.8


def test_accuracy_and_the_verbose_lines(device, digits, capsys):
    torch.manual_seed(0)
    net = lenet()
    history = train_classifier(net, digits, epochs=1, device=device, verbose=True)
    line = capsys.readouterr().out.strip()
    assert line.startswith("epoch  1: loss ") and "test acc" in line
    assert history.test_accuracies == [accuracy(net, digits.test_images, digits.test_labels)]
    assert next(net.parameters()).device.type == device.type


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(net="lenet"), TypeError, "net to be a torch.nn.Module, got str"),
        (dict(data=[1, 2]), TypeError, "data from load_digits"),
        (dict(epochs=0), ValueError, "epochs >= 1, got 0"),
        (dict(lr=-1.0), ValueError, "finite lr > 0"),
        (dict(batch_size=2.5), TypeError, "batch_size to be an int"),
        (dict(device="tpu"), ValueError, "torch device such as"),
    ],
)
def test_bad_training_arguments_are_named(digits, kwargs, error, message):
    args = dict(net=lenet(), data=digits)
    args.update(kwargs)
    net, data = args.pop("net"), args.pop("data")
    with pytest.raises(error, match=message):
        train_classifier(net, data, **args)
