"""The testing kit for plugin and host authors: a pytest plugin.

It owns three helpers, registered with pytest under the ``pytest11`` entry
point, so ``pytest`` finds them in any project where nitro-dispatch is
installed, with no ``conftest.py``:

``plugin_manager`` (fixture)
    a fresh :class:`~nitro_dispatch.PluginManager`, every plugin unloaded
    at teardown.
:func:`make_distribution`
    writes an installed distribution's metadata folder (``*.dist-info``:
    ``METADATA``, ``entry_points.txt``, ``RECORD``) into a directory, for
    tests of listing, compatibility and ``check`` without ``pip``.
:func:`assert_plugin_conforms`
    runs hook admission on a plugin class against a manager's declared
    events and raises :class:`AssertionError` listing every problem.

Importing :mod:`nitro_dispatch` never imports this module (nor pytest);
pytest imports it when it starts.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import pytest

from ._errors import NitroPluginError
from ._manager import PluginManager
from ._plugin import PluginBase

__all__ = ["plugin_manager", "make_distribution", "assert_plugin_conforms"]

PLUGINS_GROUP = "nitro_dispatch.plugins"
EVENTS_GROUP = "nitro_dispatch.events"

# PEP 508 names; entry-point names as importlib.metadata reads them (no "=",
# no line breaks, no leading "["); values "module" or "module:attr".
_DIST_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_EP_NAME = re.compile(r"^[^=\s\[][^=\r\n]*$")
_EP_VALUE = re.compile(r"^[\w.]+(\s*:\s*[\w.]+)?(\s*\[[\w\s,.-]*\])?$")
_VERSION = re.compile(r"^\S+$")


@pytest.fixture
def plugin_manager() -> Iterator[PluginManager]:
    """A fresh :class:`~nitro_dispatch.PluginManager` with default
    settings; whatever the test loaded is unloaded at teardown (dependents
    first, ``on_unload`` called).

    For other settings (``host=``, ``strict_events=True``, a config), write
    a fixture of your own the same way.
    """
    manager = PluginManager()
    try:
        yield manager
    finally:
        manager.unload_all()


def make_distribution(path: Union[str, "os.PathLike[str]"], name: str, version: str, *,
                      plugins: Optional[Mapping[str, str]] = None,
                      requires: Iterable[str] = (),
                      events: Optional[Mapping[str, str]] = None,
                      summary: Optional[str] = None,
                      group: str = PLUGINS_GROUP,
                      events_group: str = EVENTS_GROUP) -> Path:
    """Write the metadata of an installed distribution into ``path`` (a
    directory that stands for a ``site-packages``) and return its folder,
    ``path/<name>-<version>.dist-info``.

    ``plugins`` maps entry-point names to values (``"my_mod:MyPlugin"``)
    advertised in ``group``; ``events`` likewise for published event
    declarations in ``events_group``; ``requires`` are ``Requires-Dist``
    strings (``"nitro-dispatch>=1.3"``); ``summary`` is the ``Summary``
    header.  Nothing is imported or installed: write the modules the entry
    points name yourself, next to the folder, if a test imports them.

    >>> import tempfile
    >>> from nitro_dispatch import list_installed_plugins
    >>> with tempfile.TemporaryDirectory() as site:
    ...     folder = make_distribution(site, "nitro-hello", "1.0",
    ...                                plugins={"hello": "nitro_hello:Hello"})
    ...     found = list_installed_plugins(path=[site])
    >>> folder.name
    'nitro_hello-1.0.dist-info'
    >>> [(p.name, p.value, p.dist_name, p.dist_version) for p in found]
    [('hello', 'nitro_hello:Hello', 'nitro-hello', '1.0')]

    Raises :class:`ValueError` for an invalid distribution name, version,
    entry-point name or value, and :class:`FileExistsError` when the folder
    is there already.
    """
    if not isinstance(name, str) or not _DIST_NAME.match(name):
        raise ValueError("invalid distribution name %r" % (name,))
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ValueError("invalid version %r of distribution %r" % (version, name))
    sections = [(group, dict(plugins or {})), (events_group, dict(events or {}))]
    for section, entries in sections:
        for ep_name, value in entries.items():
            if not isinstance(ep_name, str) or not _EP_NAME.match(ep_name.strip()):
                raise ValueError("invalid entry-point name %r in group %r" % (ep_name, section))
            if not isinstance(value, str) or not _EP_VALUE.match(value.strip()):
                raise ValueError("invalid entry-point value %r for %r (want 'module:attr')"
                                 % (value, ep_name))
    requirements = list(requires)
    for requirement in requirements:
        if not isinstance(requirement, str) or not requirement.strip() or "\n" in requirement:
            raise ValueError("invalid Requires-Dist %r of distribution %r" % (requirement, name))
    if summary is not None and ("\n" in summary or "\r" in summary):
        raise ValueError("the summary of distribution %r must be one line" % (name,))

    site = Path(path)
    folder_name = "%s-%s.dist-info" % (re.sub(r"[-_.]+", "_", name), version)
    folder = site / folder_name
    folder.mkdir(parents=True)  # FileExistsError when it is there

    headers = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    if summary is not None:
        headers.append("Summary: %s" % summary)
    headers.extend("Requires-Dist: %s" % requirement for requirement in requirements)
    files = {"METADATA": "\n".join(headers) + "\n\n", "INSTALLER": "nitro_dispatch.testing\n"}
    entry_points = "".join(
        "[%s]\n%s\n" % (section, "".join("%s = %s\n" % (k, v) for k, v in entries.items()))
        for section, entries in sections if entries)
    if entry_points:
        files["entry_points.txt"] = entry_points
    record: List[str] = []
    for file_name, text in files.items():
        data = text.encode("utf-8")
        (folder / file_name).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s/%s,sha256=%s,%d" % (folder_name, file_name, digest.decode(), len(data)))
    record.append("%s/RECORD,," % (folder_name,))
    (folder / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
    return folder


def assert_plugin_conforms(plugin_class: Any, manager: PluginManager) -> None:
    """Run hook admission for ``plugin_class`` against ``manager``'s
    declared events; raise :class:`AssertionError` listing every problem.

    Checked, as the manager would at registration and load: the class is a
    :class:`~nitro_dispatch.PluginBase` subclass with valid metadata
    (name, PEP 440 version, requirement strings), and each of its hooks
    (every ``@hook`` method, and hooks its ``__init__`` registers) is
    admitted: options, signature, wrapper shape, and, once ``manager`` has
    declared events, an event that is declared (or a pattern matching a
    declared one), whether or not ``manager`` is strict.

    ``manager`` is not changed: the checks run in a throw-away manager that
    declares the same events.  The class is instantiated once (its
    ``__init__`` runs); ``on_load`` does not run.
    """
    problems = _conformance_problems(plugin_class, manager)
    if problems:
        label = getattr(plugin_class, "__qualname__", repr(plugin_class))
        raise AssertionError("plugin class %s does not conform (%d problem%s):\n%s" % (
            label, len(problems), "" if len(problems) == 1 else "s",
            "\n".join("  - " + problem for problem in problems)))


def _conformance_problems(plugin_class: Any, manager: PluginManager) -> List[str]:
    if not (isinstance(plugin_class, type) and issubclass(plugin_class, PluginBase)):
        return ["%r is not a PluginBase subclass" % (plugin_class,)]
    probe = PluginManager(strict_events=True, config=dict(manager.config),
                          validate_metadata=manager.validate_metadata)
    for spec in manager.get_event_specs().values():
        mode: Any = spec.mode  # a str here, one of the modes the declaration accepts
        probe.declare_event(spec.name, mode=mode, historic=spec.historic, doc=spec.doc)
    problems: List[str] = []
    try:
        name = probe.register(plugin_class)
    except NitroPluginError as exc:
        problems.append(str(exc))
        name = str(getattr(plugin_class, "name", "") or plugin_class.__name__)
    try:
        instance = plugin_class()
    except Exception as exc:
        problems.append("plugin %r: creating it raised %s: %s"
                        % (name, type(exc).__name__, exc))
        return problems
    hooks: List[Tuple[str, str, Callable[..., Any], int, Optional[float], bool]] = [
        (method, spec.event, getattr(instance, method), spec.priority, spec.timeout,
         spec.wrapper) for method, spec in plugin_class.nitro_hook_specs()]
    hooks.extend(("registered in __init__", event, callback, priority, timeout, wrapper)
                 for event, callback, priority, timeout, wrapper
                 in instance.nitro_pending_hooks())
    for label, event, callback, priority, timeout, wrapper in hooks:
        try:
            probe.register_hook(event, callback, plugin=instance, priority=priority,
                                timeout=timeout, wrapper=wrapper)
        except (NitroPluginError, ValueError, TypeError) as exc:
            problems.append("plugin %r, hook %s on %r: %s" % (name, label, event, exc))
    return problems
