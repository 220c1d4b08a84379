"""A fresh state for every page, and the checks that a page leaves nothing behind.

Before each page the harness restores torch's defaults (dtype, device, print options, grad
mode, determinism and TF32 switches, threads) to what they were when the run began, seeds the
random generators, and moves into an empty temporary folder. A page that patches a module
(``convdocs.corr2d = ...``, ``torch.Tensor.__repr__ = ...``, ``builtins.print = ...``) fails at
the cell that did it, and the module is put back, so nothing leaks into the next page.

Every cell also runs a second time, in a shadow namespace whose random generators were seeded
with another hidden seed. An output that differs between the two runs depends on a seed the
reader cannot see (or on the time, or the machine): the page must seed visibly.
"""

from __future__ import annotations

import builtins
import importlib
import os
import random
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convdocs.verify.execute import Guard

VISIBLE_SEED = 0
"""The seed every page starts with (pages that draw random numbers seed visibly anyway)."""
HIDDEN_SEED = 20261127
"""The other seed of the shadow run, which no output may depend on."""
WATCHED_MODULES = (
    "builtins",
    "math",
    "random",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "numpy",
)
"""Modules besides the project's own whose attributes a page may not change."""
WATCHED_CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"), ("torch.nn", "Parameter"))
_CLASS_BOOKKEEPING = frozenset(
    {"__dict__", "__weakref__", "__doc__", "__module__", "__annotations__"}
)
_SET_BY_TORCH = frozenset({"torch.Storage"})
"""Attributes torch itself rebinds when a page changes a default (``set_default_dtype``)."""


@dataclass(frozen=True)
class TorchDefaults:
    """torch's process-wide switches that change what code prints or computes."""

    dtype: Any
    device: Any
    grad: bool
    anomaly: bool
    deterministic: bool
    matmul_precision: str
    threads: int
    cudnn: tuple[bool, bool, bool]
    cuda_matmul_tf32: bool

    @classmethod
    def capture(cls) -> TorchDefaults:
        import torch

        return cls(
            torch.get_default_dtype(),
            torch.get_default_device(),
            torch.is_grad_enabled(),
            torch.is_anomaly_enabled(),
            torch.are_deterministic_algorithms_enabled(),
            torch.get_float32_matmul_precision(),
            torch.get_num_threads(),
            (
                torch.backends.cudnn.allow_tf32,
                torch.backends.cudnn.benchmark,
                torch.backends.cudnn.deterministic,
            ),
            torch.backends.cuda.matmul.allow_tf32,
        )

    def restore(self) -> None:
        import torch

        # Each switch is set only when a page changed it: some (determinism) import much of torch.
        if torch.get_default_dtype() != self.dtype:
            torch.set_default_dtype(self.dtype)
        if torch.get_default_device() != self.device:
            torch.set_default_device(None if self.device == torch.device("cpu") else self.device)
        if torch.is_grad_enabled() != self.grad:
            torch.set_grad_enabled(self.grad)
        if torch.is_anomaly_enabled() != self.anomaly:
            torch.autograd.set_detect_anomaly(self.anomaly)
        if torch.are_deterministic_algorithms_enabled() != self.deterministic:
            torch.use_deterministic_algorithms(self.deterministic)
        if torch.get_float32_matmul_precision() != self.matmul_precision:
            torch.set_float32_matmul_precision(self.matmul_precision)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        (
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic,
        ) = self.cudnn
        torch.backends.cuda.matmul.allow_tf32 = self.cuda_matmul_tf32
        torch.set_printoptions(profile="default", sci_mode=None)


def seed_everything(seed: int) -> None:
    """Seed torch (every device), ``random`` and numpy's global generator (importing numpy if
    it is installed, so that a page that uses it later gets a seeded generator too)."""
    import torch

    torch.manual_seed(seed)
    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed)


@dataclass
class RandomState:
    """The state of every global random generator, to switch between the two runs."""

    torch_cpu: Any
    torch_cuda: Any
    python: Any
    numpy: Any

    @classmethod
    def capture(cls) -> RandomState:
        import torch

        numpy = sys.modules.get("numpy")
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return cls(
            torch.get_rng_state(),
            cuda,
            random.getstate(),
            numpy.random.get_state() if numpy else None,
        )

    def restore(self) -> None:
        import torch

        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None and torch.cuda.is_initialized():
            torch.cuda.set_rng_state_all(self.torch_cuda)
        random.setstate(self.python)
        numpy = sys.modules.get("numpy")
        if numpy is not None and self.numpy is not None:
            numpy.random.set_state(self.numpy)


def _watched(root: Path, extra: tuple[str, ...]) -> dict[str, Any]:
    """The objects whose attributes a page may not change: the project's modules, the
    modules of ``WATCHED_MODULES`` and ``extra``, and a few torch classes."""
    objects: dict[str, Any] = {}
    prefixes = {sys.prefix, sys.base_prefix}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(module, types.ModuleType) or not path:
            continue
        full = os.path.abspath(path)
        if full.startswith(str(root) + os.sep) and not any(
            full.startswith(p + os.sep) for p in prefixes
        ):
            objects[name] = module
    for name in (*WATCHED_MODULES, *extra):
        if name in sys.modules:
            objects[name] = sys.modules[name]
    for module_name, class_name in WATCHED_CLASSES:
        owner = sys.modules.get(module_name)
        if owner is not None and hasattr(owner, class_name):
            objects[f"{module_name}.{class_name}"] = getattr(owner, class_name)
    objects["builtins"] = builtins
    return objects


@dataclass
class ModuleSnapshot:
    """The attributes of the watched modules and classes, by identity."""

    objects: dict[str, Any]
    attributes: dict[str, dict[str, Any]]
    modules: dict[str, Any]

    @classmethod
    def take(cls, root: Path, extra: tuple[str, ...] = ()) -> ModuleSnapshot:
        objects = _watched(root, extra)
        attributes = {name: dict(vars(obj)) for name, obj in objects.items()}
        modules = {name: sys.modules[name] for name in objects if name in sys.modules}
        return cls(objects, attributes, modules)

    def _watched_keys(self, name: str, keys: set[str]) -> list[str]:
        """The attributes that count: public names, and a class's special methods
        (``Tensor.__repr__``); not private names, which libraries change for themselves."""
        is_class = isinstance(self.objects[name], type)
        return sorted(
            key
            for key in keys
            if f"{name}.{key}" not in _SET_BY_TORCH
            and (
                not key.startswith("_")
                or (
                    is_class
                    and key.startswith("__")
                    and key.endswith("__")
                    and key not in _CLASS_BOOKKEEPING
                )
            )
        )

    def changes(self) -> list[str]:
        """What changed since the snapshot (``convdocs.corr2d replaced``); a submodule that was
        imported meanwhile, and torch's own switch of ``torch.Storage`` with the default dtype,
        do not count."""
        found = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] replaced")
        for name, obj in self.objects.items():
            before, now = self.attributes[name], vars(obj)
            for key in self._watched_keys(name, set(before) | set(now)):
                if key not in now:
                    found.append(f"{name}.{key} deleted")
                elif isinstance(now[key], types.ModuleType):
                    continue
                elif key not in before:
                    found.append(f"{name}.{key} added")
                elif now[key] is not before[key]:
                    found.append(f"{name}.{key} replaced")
        return sorted(found)

    def restore(self) -> None:
        """Put every watched attribute and module back as it was."""
        for name, module in self.modules.items():
            sys.modules[name] = module
        for name, obj in self.objects.items():
            before, now = self.attributes[name], dict(vars(obj))
            for key in self._watched_keys(name, set(before) | set(now)):
                if isinstance(now.get(key), types.ModuleType):
                    continue
                if key not in before:
                    _set(obj, key, None, delete=True)
                elif key not in now or now[key] is not before[key]:
                    _set(obj, key, before[key])


def _set(obj: Any, key: str, value: Any, delete: bool = False) -> None:
    try:
        if delete:
            delattr(obj, key)
        else:
            setattr(obj, key, value)
    except (AttributeError, TypeError):  # a read-only slot of a builtin type: nothing leaked there
        pass


@dataclass
class PageState:
    """One page's run: its temporary folder, the guard of its cells, its module snapshot and
    its shadow run under the hidden seed."""

    root: Path
    saved_cwd: str
    workdir: str
    guard: Guard
    snapshot: ModuleSnapshot | None = None
    shadow: dict[str, Any] = field(default_factory=dict)
    shadow_random: RandomState | None = None
    shadow_broken: bool = False

    @classmethod
    def enter(cls, root: Path) -> PageState:
        workdir = tempfile.mkdtemp(prefix="convdocs-page-")
        state = cls(root, os.getcwd(), workdir, Guard(root))
        os.chdir(workdir)
        return state

    def start(self, modules: tuple[str, ...]) -> None:
        """Before the page's first example: import what it imports from the project (so that a
        patch made in the cell that imports a module is seen), snapshot the watched modules,
        and seed the shadow run's generators."""
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the page's own cell will fail with a clear message
                pass
        self.snapshot = ModuleSnapshot.take(self.root, modules)
        visible = RandomState.capture()
        seed_everything(HIDDEN_SEED)
        self.shadow_random = RandomState.capture()
        visible.restore()
        self.shadow.setdefault("__name__", "__convdocs_page__")

    def leave(self) -> None:
        os.chdir(self.saved_cwd)
        shutil.rmtree(self.workdir, ignore_errors=True)
