"""LeNet-5 (D2L section 7.6) and a small, reproducible training loop for classifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from convdocs._checks import check_device, check_positive_int, check_positive_number
from convdocs.digits import Digits


def lenet() -> nn.Sequential:
    """D2L's LeNet-5 for 1x28x28 images and 10 classes, as an ``nn.Sequential``.

    Two convolutional blocks (a 5x5 convolution, a sigmoid, a 2x2 average pooling with stride
    2; the first convolution pads by 2) and three fully connected layers (120, 84 and 10
    outputs, sigmoids between them). The layers have torch's default initial weights; apply
    ``init_cnn`` for the book's Xavier initialisation.

    Returns:
        The network, on the CPU, with 61,706 parameters.

    Example:

    ```python
    from convdocs import lenet
    net = lenet()
    sum(p.numel() for p in net.parameters())
    ```

    ```text
    61706
    ```

    Taught on the page [LeNet](lenet.md).
    """
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def init_cnn(module: nn.Module) -> None:
    """The book's initialisation for CNNs: Xavier-uniform weights for every convolution and
    fully connected layer (their biases keep torch's default). Use as ``net.apply(init_cnn)``."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)


@dataclass(frozen=True)
class History:
    """What ``train_classifier`` measured after each epoch."""

    losses: list[float] = field(default_factory=list)
    """The mean cross-entropy loss over the epoch's minibatches, weighted by their sizes."""
    train_accuracies: list[float] = field(default_factory=list)
    """The fraction of training images classified correctly during the epoch."""
    test_accuracies: list[float] = field(default_factory=list)
    """The fraction of test images classified correctly after the epoch."""


def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of ``images`` that ``net`` classifies as their ``labels`` (in eval mode,
    without gradients, on the device of ``net``'s parameters)."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    with torch.no_grad():
        predicted = net(images.to(device)).argmax(dim=1)
    net.train(was_training)
    return (predicted == labels.to(device)).float().mean().item()


def train_classifier(
    net: nn.Module,
    data: Digits,
    *,
    epochs: int = 20,
    lr: float = 0.5,
    batch_size: int = 16,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = False,
) -> History:
    """Train ``net`` on ``data`` with minibatch SGD and the cross-entropy loss.

    The training images are shuffled each epoch by a generator seeded with ``seed`` (on the
    CPU, so every device sees the same order). cuDNN runs deterministically and without TF32,
    so a run repeats exactly and a GPU's numbers stay close to a CPU's.

    Args:
        net: a classifier of 1xHxW images into 10 classes; it is moved to ``device``.
        data: the training and test sets (``load_digits()``).
        epochs: passes over the training set, >= 1.
        lr: the learning rate, > 0.
        batch_size: images per minibatch, >= 1.
        seed: the seed of the shuffling.
        device: where to train (default: the CPU).
        verbose: print the loss, training accuracy and test accuracy after every epoch.

    Returns:
        A ``History`` of the three per epoch.

    Raises:
        TypeError: if ``net`` is not an ``nn.Module`` or an option has the wrong type.
        ValueError: if an option is out of range or names no usable device.
    """
    fn = "train_classifier"
    if not isinstance(net, nn.Module):
        raise TypeError(f"{fn} expects net to be a torch.nn.Module, got {type(net).__name__}")
    if not isinstance(data, Digits):
        raise TypeError(f"{fn} expects data from load_digits(), got {type(data).__name__}")
    epochs = check_positive_int(fn, "epochs", epochs)
    lr = check_positive_number(fn, "lr", lr)
    batch_size = check_positive_int(fn, "batch_size", batch_size)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{fn} expects seed to be an int, got {type(seed).__name__}")
    device = check_device(fn, device) or torch.device("cpu")

    net.to(device)
    images, labels = data.train_images.to(device), data.train_labels.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(seed)
    history = History()
    with torch.backends.cudnn.flags(
        enabled=True, benchmark=False, deterministic=True, allow_tf32=False
    ):
        for epoch in range(epochs):
            net.train()
            order = torch.randperm(len(images), generator=shuffle).to(device)
            total_loss, correct = 0.0, 0
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                scores = net(images[batch])
                loss = F.cross_entropy(scores, labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total_loss += loss.item() * len(batch)
                correct += int((scores.argmax(dim=1) == labels[batch]).sum().item())
            history.losses.append(total_loss / len(images))
            history.train_accuracies.append(correct / len(images))
            history.test_accuracies.append(accuracy(net, data.test_images, data.test_labels))
            if verbose:
                print(
                    f"epoch {epoch + 1:2d}: loss {history.losses[-1]:.4f}, "
                    f"train acc {history.train_accuracies[-1]:.3f}, "
                    f"test acc {history.test_accuracies[-1]:.3f}"
                )
    return history
