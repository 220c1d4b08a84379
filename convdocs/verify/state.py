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
_SET_BY_TORCH = frozenset({"torch.Storage", "torch.fx.traceback.current_meta"})
"""Attributes torch itself rebinds when a page changes a default (``set_default_dtype``), or
while torch.compile traces (the node metadata of ``torch.fx.traceback``)."""

_COMPILER_STATE = ("torch._", "triton.")
"""torch's private subpackages (``torch._dynamo``, ``torch._inductor``, ``torch._subclasses``,
...) and Triton, its compiler for GPUs, keep torch.compile's state in module globals they rebind
as they work (frame counters, event logs, id counters, a driver's classes loaded on first use):
a page that compiles changes them without patching anything. Printing state there
(``torch._tensor_str``) is reset before every page anyway."""


def _wrapped_by_torch(name: str, key: str, before: object, now: object) -> bool:
    """Whether ``name.key`` went from ``before`` to ``now`` by torch's own import of
    ``torch._dynamo`` (``torch.compile``, ``FlopCounterMode``, ...), which wraps some of torch's
    functions (``torch.manual_seed``, and ``torch.jit.trace`` once it compiles) with
    ``torch._disable_dynamo`` or ``torch._dynamo.disable``: a function of torch, and a wrapper
    of exactly those kinds (its code is the decorator's) around exactly the old function, and
    nothing else."""
    if not (name == "torch" or name.startswith("torch.")) or "torch._dynamo" not in sys.modules:
        return False
    if type(now) is not types.FunctionType:
        return False
    import torch
    import torch._dynamo

    if now.__dict__.get("__wrapped__") is before:
        # the two ways torch disables its compiler around a function of its own
        references = (torch._disable_dynamo(lambda: None), torch._dynamo.disable(lambda: None))
        return any(now.__code__ is getattr(r, "__code__", False) for r in references)
    # torch.compile's first run wraps torch.nn.Module.__init__ and __setstate__ with functions
    # of torch._dynamo that call the old ones (mutation_guard.install_generation_tagging_init)
    compiler = os.path.dirname(os.path.abspath(torch._dynamo.__file__)) + os.sep
    return os.path.abspath(now.__code__.co_filename).startswith(compiler) and any(
        cell.cell_contents is before for cell in now.__closure__ or ()
    )


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


@dataclass
class ProcessState:
    """Everything process-wide that changes what a page prints, as the run began: torch's
    defaults, numpy's print options, the decimal context, IPython's pretty-printer registry."""

    torch: TorchDefaults
    numpy_print: dict[str, Any] | None
    decimal_context: Any
    printers: list[tuple[dict[Any, Any], dict[Any, Any]]]

    @classmethod
    def capture(cls) -> ProcessState:
        import decimal

        from IPython.lib import pretty

        numpy = sys.modules.get("numpy")
        registries = [
            getattr(pretty, name)
            for name in ("_type_pprinters", "_deferred_type_pprinters", "_singleton_pprinters")
            if hasattr(pretty, name)
        ]
        return cls(
            TorchDefaults.capture(),
            dict(numpy.get_printoptions()) if numpy is not None else None,
            decimal.getcontext().copy(),
            [(registry, dict(registry)) for registry in registries],
        )

    def restore(self) -> None:
        import decimal

        self.torch.restore()
        numpy = sys.modules.get("numpy")
        if (
            numpy is not None
            and self.numpy_print is not None
            and dict(numpy.get_printoptions()) != self.numpy_print
        ):
            numpy.set_printoptions(**self.numpy_print)
        decimal.setcontext(self.decimal_context.copy())
        for registry, saved in self.printers:
            if registry != saved:
                registry.clear()
                registry.update(saved)


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
    checker = __name__.rpartition(".")[0]  # convdocs.verify: a page may not patch the checker
    for name, module in list(sys.modules.items()):
        if (name == checker or name.startswith(checker + ".")) and isinstance(
            module, types.ModuleType
        ):
            objects[name] = module
    return objects


_NOT_WATCHED = (
    "__main__",
    "__mp_main__",
    "sys",
    "_pytest",
    "pytest",
    "pluggy",
    "py",
    "_io",
    "io",
    "warnings",
    "logging",
)
"""Modules whose attributes the interpreter and pytest change between tests (``warnings.filters``)."""


def _all_modules() -> dict[str, Any]:
    """Every imported module but the interpreter's and pytest's own bookkeeping, for the check
    at the end of each page."""
    return {
        name: module
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType) and name.split(".")[0] not in _NOT_WATCHED
    }


@dataclass
class ModuleSnapshot:
    """The attributes of the watched modules and classes, by identity."""

    objects: dict[str, Any]
    attributes: dict[str, dict[str, Any]]
    modules: dict[str, Any]

    @classmethod
    def take_all(cls) -> ModuleSnapshot:
        """Every imported module (see ``_all_modules``), for the check at a page's end."""
        objects = _all_modules()
        attributes = {name: dict(vars(obj)) for name, obj in objects.items()}
        return cls(objects, attributes, {})  # some C modules re-register their submodules

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
        if name.startswith(_COMPILER_STATE) and not is_class:
            return []  # the compiler's own bookkeeping (see _COMPILER_STATE)
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
        """What changed since the snapshot (``convdocs.corr2d replaced``, ``math.pi deleted``);
        new names (libraries add some lazily), a submodule imported meanwhile, and torch's own
        switch of ``torch.Storage`` with the default dtype do not count."""
        found = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] replaced")
        for name, obj in self.objects.items():
            before, now = self.attributes[name], vars(obj)
            for key in self._watched_keys(name, set(before) | set(now)):
                if key not in now:
                    found.append(f"{name}.{key} deleted")
                elif _is_module(now[key]):
                    continue
                elif key not in before:
                    continue  # a new name changes nothing that was there (libraries add them lazily)
                elif now[key] is not before[key] and not _wrapped_by_torch(
                    name, key, before[key], now[key]
                ):
                    found.append(f"{name}.{key} replaced")
        return sorted(found)

    def restore(self) -> None:
        """Put every watched attribute and module back as it was."""
        for name, module in self.modules.items():
            sys.modules[name] = module
        for name, obj in self.objects.items():
            before, now = self.attributes[name], dict(vars(obj))
            for key in self._watched_keys(name, set(before) | set(now)):
                if _is_module(now.get(key)):
                    continue
                if key not in before:
                    continue
                if key in now and now[key] is before[key]:
                    continue
                if key in now and _wrapped_by_torch(name, key, before[key], now[key]):
                    continue  # torch's own, and harmless: the wrapper calls the old function
                if key not in now or now[key] is not before[key]:
                    _set(obj, key, before[key])


def _is_module(value: object) -> bool:
    """Whether a value is a module, without touching the value (``isinstance`` may call a
    deprecated attribute's ``__class__``, which warns)."""
    return issubclass(type(value), types.ModuleType)


def _set(obj: Any, key: str, value: Any, delete: bool = False) -> None:
    try:
        if delete:
            delattr(obj, key)
        else:
            setattr(obj, key, value)
    except (AttributeError, TypeError):  # a read-only slot of a builtin type: nothing leaked there
        pass


def project_files(root: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file of the project (not in dot-folders, caches or
    the environment), to see whether a cell changed any, even through another process."""
    found: dict[str, tuple[int, int]] = {}
    prefixes = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix)}
    for folder, folders, files in os.walk(root):
        folders[:] = [
            name
            for name in folders
            if not name.startswith(".")
            and name != "__pycache__"
            and os.path.abspath(os.path.join(folder, name)) not in prefixes
        ]
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns)
    return found


def changed_files(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    """The files created, changed or deleted between two ``project_files``."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


@dataclass
class PageState:
    """One page's run: its temporary folder, the guard of its cells, its module snapshot and
    its shadow run under the hidden seed."""

    root: Path
    saved_cwd: str
    workdir: str
    shadow_workdir: str
    guard: Guard
    environment: dict[str, str]
    modules_before: set[str]
    everything: ModuleSnapshot
    snapshot: ModuleSnapshot | None = None
    shadow: dict[str, Any] = field(default_factory=dict)
    shadow_random: RandomState | None = None
    shadow_broken: bool = False

    @classmethod
    def enter(cls, root: Path) -> PageState:
        """Start a page: empty working folders for its run and its shadow run, and a record of
        the environment and of every module, to put back and to check at its end."""
        state = cls(
            root,
            os.getcwd(),
            tempfile.mkdtemp(prefix="convdocs-page-"),
            tempfile.mkdtemp(prefix="convdocs-shadow-"),
            Guard(root),
            dict(os.environ),
            set(sys.modules),
            ModuleSnapshot.take_all(),
        )
        os.chdir(state.workdir)
        return state

    def start(self, modules: tuple[str, ...]) -> None:
        """Before the page's first example: import what the page imports (so that a patch made
        in the cell that imports a module is seen), snapshot the modules, and seed the shadow
        run's generators."""
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # the page's own cell will fail with a clear message
                pass
        self.snapshot = ModuleSnapshot.take(self.root, modules)
        self.everything = ModuleSnapshot.take_all()  # with what the page imports already there
        visible = RandomState.capture()
        seed_everything(HIDDEN_SEED)
        self.shadow_random = RandomState.capture()
        visible.restore()
        self.shadow.setdefault("__name__", "__convdocs_page__")

    def leave(self) -> list[str]:
        """End the page: back to the first folder, the environment as it was, modules the page
        made up (not imported from a file) dropped from ``sys.modules``, and any module it
        patched put back. Returns the patches, which the page should not have made."""
        os.chdir(self.saved_cwd)
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self.shadow_workdir, ignore_errors=True)
        if dict(os.environ) != self.environment:
            os.environ.clear()
            os.environ.update(self.environment)
        for name in set(sys.modules) - self.modules_before:
            module = sys.modules.get(name)
            if (
                not isinstance(module, types.ModuleType)
                or getattr(module, "__spec__", None) is None
            ):
                del sys.modules[name]
        changes = self.everything.changes()
        if changes:
            self.everything.restore()
        return changes
