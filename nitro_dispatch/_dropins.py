"""Importing drop-in plugin files (found by :mod:`._dropin_files`), and
fresh imports of plugin modules for reload.

Each directory becomes a synthetic package of its own,
``nitro_dispatch_dropins.<dirname>_<digest>``, whose ``__path__`` is that
directory; a file ``x_plugin.py`` in it is imported as a submodule of that
package.  So two ``x_plugin.py`` files in different directories never clash
in ``sys.modules``, nothing is added to ``sys.path``, and a plugin's own
relative imports (``from . import helpers``) find its neighbours.  When the
directory holds an ``__init__.py``, it runs as the package's ``__init__``.

Names never collide (SPEC section 11): ``<digest>`` is the BLAKE2b-128 digest
of the directory's real path (no short checksum: two directories sharing a
CRC-32 once shared a package), and a package already in ``sys.modules`` is
reused only when its ``__path__`` is that very directory, else the import
fails with a clear error.  Files are taken by their real path: a file
reached through two symbolic links (or a link and its own name) is imported,
and so registered, once, under the name of the real file in the real
directory.  A file name that is not an identifier (``my.extra_plugin.py``:
the dot would make ``my`` look like a package) is imported under a
sanitized name with a digest of the original, ``my_extra_plugin_<digest>``.

A drop-in's first import in a process uses Python's bytecode cache like
any import (``__pycache__/*.pyc``, written and validated by importlib's
source loader against the file's size and modification time); as with any
import, the source is read only when the ``.pyc`` does not serve.  Every
file is first checked with :func:`._safe_read.stat_regular` (a regular
file within the read limit, from one ``stat``) and read, source or
``.pyc``, only through :func:`._safe_read.read_bytes` (opened without
blocking, regular files only, bounded), never by the import system's own
open: a FIFO or device named ``x_plugin.py`` fails that file's import with
an ``ImportError`` naming it, and never hangs or exhausts memory.  Fresh
imports, for reload, compile the source as it is on disk now (never a
cached ``.pyc``) into a *new* module object; ``sys.modules`` is switched only
once that module ran without error, so a failed re-import leaves the old
module, and the plugins made from it, untouched.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from ._safe_read import Unreadable, read_bytes, stat_regular


TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional

__all__ = ["import_dropin", "fresh_module", "install_module", "plugin_classes"]

ROOT_PACKAGE = "nitro_dispatch_dropins"


def _package_for(directory: str) -> str:
    """The synthetic package standing for ``directory`` (created once)."""
    from ._digest import blake2b

    base = _word_chars(os.path.basename(directory)) or "root"
    digest = blake2b(directory.encode("utf-8", "surrogateescape"), 16).hex()
    name = "%s.%s_%s" % (ROOT_PACKAGE, base, digest)
    if ROOT_PACKAGE not in sys.modules:
        root = ModuleType(ROOT_PACKAGE, "Synthetic parent of nitro_dispatch drop-in packages")
        root.__path__ = []
        sys.modules[ROOT_PACKAGE] = root
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", None) or ()) != [directory]:
        raise ImportError("cannot import drop-ins of %s: module name %s is taken by %r"
                          % (directory, name, existing))
    if existing is None:
        init = os.path.join(directory, "__init__.py")
        if os.path.isfile(init):
            module = _exec_fresh(name, init, package_dir=directory)
        else:
            module = ModuleType(name)
            module.__path__ = [directory]
            module.__package__ = name
        sys.modules[name] = module
    return name


_PACKAGE_OF: Dict[str, str] = {}  # directory -> its package, named once per process


def import_dropin(path: str) -> ModuleType:
    """Import a drop-in file under its own module name; a file imported
    before is returned from ``sys.modules`` as it is."""
    directory, filename = os.path.split(path)
    package = _PACKAGE_OF.get(directory)
    if package is None or package not in sys.modules:
        package = _PACKAGE_OF[directory] = _package_for(directory)
    name = "%s.%s" % (package, _module_name(os.path.splitext(filename)[0]))
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == path:
        return module
    module = _exec_fresh(name, path, cached=True)
    sys.modules[name] = module
    return module


def _module_name(stem: str) -> str:
    """``stem`` when it is an identifier, else a sanitized name that still
    tells files apart (``my.extra_plugin`` and ``my_extra_plugin`` differ)."""
    if stem.isidentifier():
        return stem
    from ._digest import blake2b

    clean = _word_chars(stem)
    return "%s_%s" % (clean, blake2b(stem.encode("utf-8", "surrogateescape"), 16).hex())


def _word_chars(text: str) -> str:
    """``re.sub(r"\\W", "_", text)`` without importing :mod:`re` (several
    milliseconds on 3.11 and later, where nothing else on this path needs
    it): ``\\w`` is what ``str.isalnum`` accepts, and the underscore."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text)


def fresh_module(module_name: str, path: Optional[str] = None) -> ModuleType:
    """Run the current source of ``module_name`` (at ``path``, or where the
    module's ``__file__`` or its spec says) into a new module, without
    installing it: see :func:`install_module`."""
    if path is None:
        current = sys.modules.get(module_name)
        path = getattr(current, "__file__", None)
        if path is None:
            import importlib.util

            spec = importlib.util.find_spec(module_name)
            path = spec.origin if spec is not None else None
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        raise ImportError("module %s has no Python source file to reload from (%s)"
                          % (module_name, path))
    package_dir = os.path.dirname(path) if os.path.basename(path) == "__init__.py" else None
    return _exec_fresh(module_name, path, package_dir=package_dir)


def install_module(module: ModuleType) -> None:
    """Make ``module`` the one ``import`` finds from now on."""
    sys.modules[module.__name__] = module
    parent, _, child = module.__name__.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def _exec_fresh(name: str, path: str, package_dir: Optional[str] = None,
                cached: bool = False) -> ModuleType:
    """Compile the file's current source and run it as a new module ``name``
    (``cached``: take the code from a valid ``.pyc`` and write one, as
    ``import`` does).

    The module is visible in ``sys.modules`` while it runs (as a normal
    import would make it, for imports that refer back to it), and the
    previous entry is put back if it fails.
    """
    import importlib.util

    loader: Any
    try:  # never through a blocking open: a FIFO in a file's place must not hang
        if cached:  # the source is read only if its .pyc does not serve
            loader = _loader_class()(name, path, None, stat_regular(path))
        else:
            source, st = read_bytes(path)
            loader = _loader_class()(name, path, source, st)
    except (OSError, Unreadable) as exc:
        raise ImportError("cannot read %s: %s" % (path, exc)) from None
    spec = importlib.util.spec_from_file_location(
        name, path, loader=loader,
        submodule_search_locations=[package_dir] if package_dir else None)
    if spec is None:
        raise ImportError("cannot import %s from %s" % (name, path))
    module = importlib.util.module_from_spec(spec)
    code: Any
    if cached:
        code = loader.get_code(name)
    else:
        code = compile(loader.source, path, "exec", dont_inherit=True)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    finally:
        if previous is not None and sys.modules.get(name) is module:
            sys.modules[name] = previous  # the caller decides whether to switch
    return module


_LOADER: List[Any] = []  # the loader class, made on first use (importlib.machinery)


def _loader_class() -> Any:
    """A source loader that takes the stat of the source made safely
    (:func:`._safe_read.stat_regular`), and reads the source, only when the
    ``.pyc`` does not serve, and the ``.pyc`` itself through the same
    bounded, non-blocking reader (a bytecode file that cannot be read is not
    used)."""
    if _LOADER:
        return _LOADER[0]
    from importlib.machinery import SourceFileLoader

    class ReadSourceLoader(SourceFileLoader):
        def __init__(self, fullname: str, path: str, source: Optional[bytes],
                     st: os.stat_result) -> None:
            super().__init__(fullname, path)
            self.source = source  # None: not read yet
            self.stats = {"mtime": st.st_mtime, "size": st.st_size}

        def path_stats(self, path: str) -> Mapping[str, Any]:
            return self.stats if path == self.path else super().path_stats(path)

        def get_data(self, path: str) -> bytes:
            if path == self.path:
                if self.source is None:
                    try:
                        self.source = read_bytes(path)[0]
                    except Unreadable as exc:
                        raise ImportError("cannot read %s: %s" % (path, exc)) from None
                return self.source
            try:
                return read_bytes(path)[0]
            except Unreadable as exc:
                raise OSError(str(exc)) from None

    _LOADER.append(ReadSourceLoader)
    return ReadSourceLoader


def plugin_classes(module: ModuleType, base: type) -> List[type]:
    """Subclasses of ``base`` defined in ``module`` itself, in definition
    order."""
    name = module.__name__
    return [value for value in vars(module).values()
            if isinstance(value, type) and value is not base and issubclass(value, base)
            and value.__module__ == name]
