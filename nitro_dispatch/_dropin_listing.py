"""Drop-in plugins listed without running them (SPEC sections 5 and 10).

A drop-in file carries no metadata, so :func:`list_dropin_plugins` *reads*
each matching file with :mod:`ast` and reports the top-level classes that
derive from ``PluginBase`` (directly, or through classes of the same file),
with their ``name`` and ``version`` when those are string literals or
module-level string constants (``None`` otherwise).  Plugins that only exist
when the file runs are not seen; ``PluginManager.discover_plugins`` imports
the files and sees exactly what the manager registers.  This is the drop-in
counterpart of :func:`nitro_dispatch.list_installed_plugins`.
"""

from __future__ import annotations

import ast
import os

from ._version import DEFAULT_VERSION

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

__all__ = ["DropinPlugin", "list_dropin_plugins", "DropinClass", "scan_dropin_source"]

DROPIN_PATTERN = "*_plugin.py"


class DropinPlugin:
    """A plugin class found by reading a drop-in file.  ``path`` joins the
    directory as given and the file's name; ``location`` is absolute;
    ``name`` and ``version`` are ``None`` when not written as literals."""

    __slots__ = ("name", "version", "class_name", "path", "location", "lineno")

    def __init__(self, name: Optional[str], version: Optional[str], class_name: str,
                 path: str, location: str, lineno: int) -> None:
        self.name = name
        self.version = version
        self.class_name = class_name
        self.path = path
        self.location = location
        self.lineno = lineno

    def to_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}

    def __repr__(self) -> str:
        return "DropinPlugin(%s)" % ", ".join("%s=%r" % (k, v) for k, v in self.to_dict().items())


def list_dropin_plugins(paths: Iterable[Union[str, os.PathLike[str]]],
                        pattern: str = DROPIN_PATTERN, recursive: bool = False, *,
                        errors: Optional[List[Tuple[str, str]]] = None) -> List[DropinPlugin]:
    """The plugin classes of the drop-in files in the directories ``paths``
    (files matching ``pattern``, as ``discover_plugins`` finds them), read
    without running them, in directory then file order.

    A missing directory raises :class:`PluginDiscoveryError`; a file that
    cannot be read or parsed (a FIFO or device in a file's place, a file
    beyond the read limit: files are opened without blocking, only regular
    files are read, and reads are bounded) is skipped and, when ``errors`` is a list,
    recorded there as ``(path, message)`` (else logged as a warning).
    """
    from ._dropin_files import find_plugin_files
    from ._safe_read import Unreadable, read_bytes

    if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
        raise TypeError("paths must be an iterable of directories, not %s"
                        % (type(paths).__name__,))
    found: List[DropinPlugin] = []
    for directory in paths:
        directory = os.fspath(directory)
        root, files = find_plugin_files(directory, pattern, recursive)
        for file in files:
            shown = os.path.join(directory, os.path.relpath(file, root))
            try:
                classes = scan_dropin_source(read_bytes(file)[0], shown)
            except (OSError, Unreadable, SyntaxError, ValueError, RecursionError,
                    MemoryError) as exc:
                message = "cannot read drop-in file %s: %s: %s" % (shown, type(exc).__name__,
                                                                   exc)
                if errors is not None:
                    errors.append((shown, message))
                else:
                    from ._log import get_logger

                    get_logger("nitro_dispatch.dropins").warning("%s", message)
                continue
            for cls in classes:
                found.append(DropinPlugin(cls.name, cls.version, cls.class_name, shown,
                                          os.path.abspath(shown), cls.lineno))
    return found


class DropinClass:
    """A plugin class found by reading a drop-in file: ``name`` and
    ``version`` are ``None`` when they are not written as literals."""

    __slots__ = ("class_name", "name", "version", "lineno")

    def __init__(self, class_name: str, name: Optional[str], version: Optional[str],
                 lineno: int) -> None:
        self.class_name = class_name
        self.name = name
        self.version = version
        self.lineno = lineno

    def __repr__(self) -> str:
        return "DropinClass(%r, name=%r, version=%r)" % (self.class_name, self.name,
                                                         self.version)


class _Unknown:
    """An attribute assigned something other than a string literal."""


_UNSET: Any = None
_NOT_LITERAL = _Unknown()


class _StaticClass:
    __slots__ = ("name", "explicit", "version")

    def __init__(self, name: Optional[str], explicit: bool, version: Optional[str]) -> None:
        self.name = name  # None: not known without running the file
        self.explicit = explicit  # set by this class or a base (not the class name)
        self.version = version


def scan_dropin_source(source: "str | bytes", filename: str = "<drop-in>") -> List[DropinClass]:
    """The plugin classes a drop-in file defines, read without running it.

    A plugin class is a top-level ``class`` statement with ``PluginBase``
    (however imported) or an earlier plugin class of the same file among its
    bases.  ``name`` follows the rules of ``PluginBase``: the class's own
    ``name``, else an explicit ``name`` inherited from a base of the same
    file, else the class's name.  Raises ``SyntaxError`` or ``ValueError``
    for a file that does not parse.

    >>> src = '''
    ... from nitro_dispatch import PluginBase as Base
    ... VERSION = "2.1"
    ... class Greeter(Base):
    ...     name = "greeter"
    ...     version = VERSION
    ... class Loud(Greeter):
    ...     pass
    ... class Helper:
    ...     name = "not a plugin"
    ... '''
    >>> [(c.class_name, c.name, c.version) for c in scan_dropin_source(src)]
    [('Greeter', 'greeter', '2.1'), ('Loud', 'greeter', '2.1')]
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "\d" in the plugin's code
        tree = ast.parse(source, filename=filename)
    constants: Dict[str, str] = {}
    base_names = {"PluginBase"}
    plugins: Dict[str, _StaticClass] = {}
    found: List[DropinClass] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").split(".")[0] == \
                "nitro_dispatch":
            base_names.update(alias.asname or alias.name for alias in stmt.names
                              if alias.name == "PluginBase")
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            for target, value in _assignments(stmt):
                literal = _literal(value, constants)
                if isinstance(literal, str):
                    constants[target] = literal
                else:
                    constants.pop(target, None)
        elif isinstance(stmt, ast.ClassDef):
            info = _static_plugin(stmt, base_names, plugins, constants)
            if info is None:
                plugins.pop(stmt.name, None)
                continue
            plugins[stmt.name] = info
            found.append(DropinClass(stmt.name, info.name, info.version, stmt.lineno))
    return found


def _assignments(stmt: "ast.Assign | ast.AnnAssign") -> List[Tuple[str, Optional[ast.expr]]]:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return [(t.id, stmt.value) for t in targets if isinstance(t, ast.Name)]


def _literal(value: Optional[ast.expr], constants: Dict[str, str]) -> Any:
    """A string literal or module constant; ``_UNSET`` for a bare
    annotation; ``_NOT_LITERAL`` for anything else."""
    if value is None:
        return _UNSET
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.Name) and value.id in constants:
        return constants[value.id]
    return _NOT_LITERAL


def _static_plugin(node: ast.ClassDef, base_names: "set[str]", plugins: Dict[str, _StaticClass],
                   constants: Dict[str, str]) -> Optional[_StaticClass]:
    parent: Optional[_StaticClass] = None
    direct = False
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id in plugins:
            parent = parent or plugins[base.id]
        elif (isinstance(base, ast.Name) and base.id in base_names) or \
                (isinstance(base, ast.Attribute) and base.attr == "PluginBase"):
            direct = True
    if parent is None and not direct:
        return None
    own: Dict[str, Any] = {}
    for stmt in node.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            for target, value in _assignments(stmt):
                if target in ("name", "version"):
                    literal = _literal(value, constants)
                    if literal is not _UNSET:
                        own[target] = literal
    # name: as PluginBase.__init_subclass__ and class_plugin_name decide it.
    if "name" in own and own["name"] != "":
        explicit = True
        name = own["name"] if isinstance(own["name"], str) else None
    elif "name" not in own and parent is not None and parent.explicit:
        explicit, name = True, parent.name
    else:
        explicit, name = False, node.name
    if "version" in own:
        version = own["version"] if isinstance(own["version"], str) else None
    elif parent is not None:
        version = parent.version
    else:
        version = DEFAULT_VERSION
    return _StaticClass(name, explicit, version)
