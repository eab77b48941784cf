"""A new plugin distribution, written from templates (``nitro-dispatch new``).

This module owns the templates of a complete plugin project and the writer
that checks the names and puts the files on disk:
:func:`plan_project` turns a distribution name, the events to hook and an
optional host into a :class:`ProjectPlan` (every name derived and checked,
every file's text), and :func:`write_project` writes it into a folder that
does not exist yet or is empty.

The project: ``pyproject.toml`` (the entry point in ``nitro_dispatch.plugins``,
requirements on ``nitro-dispatch`` and the host), ``src/<package>/`` with a
typed :class:`~nitro_dispatch.PluginBase` subclass hooking each event,
``py.typed``, a README, and ``tests/`` written with
:mod:`nitro_dispatch.testing`.  Installed with pip, its tests pass under
``pytest``, and ``mypy --strict`` and ``flake8`` (default settings) are
clean on it.
"""

from __future__ import annotations

import keyword
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ._version import __version__

__all__ = ["ProjectPlan", "plan_project", "write_project", "DEFAULT_EVENT"]

#: The event a new plugin hooks when none is given.
DEFAULT_EVENT = "app.request"

_DIST_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$")
_RESERVED_PACKAGES = {"nitro_dispatch", "tests", "test", "src"}


class ProjectPlan:
    """Everything :func:`write_project` writes: the derived names
    (``dist_name``, ``package``, ``plugin_name``, ``class_name``), the hooked
    events as ``(event, method name)`` pairs, and ``files`` (relative POSIX
    path -> text)."""

    __slots__ = ("dist_name", "package", "plugin_name", "class_name", "hooks", "host",
                 "files")

    def __init__(self, dist_name: str, package: str, plugin_name: str, class_name: str,
                 hooks: List[Tuple[str, str]], host: Optional[str]) -> None:
        self.dist_name = dist_name
        self.package = package
        self.plugin_name = plugin_name
        self.class_name = class_name
        self.hooks = hooks
        self.host = host
        self.files: Dict[str, str] = {}


def plan_project(name: str, events: Sequence[str] = (), host: Optional[str] = None
                 ) -> ProjectPlan:
    """The plan of distribution ``name`` hooking ``events`` (or
    :data:`DEFAULT_EVENT`), requiring ``host`` when given.

    Raises :class:`ValueError` with one line naming the name at fault: a
    distribution name that is not a valid PEP 508 name or gives no Python
    package name, an event name that is empty, has spaces or ``*``, or a
    host that is not a requirement.
    """
    if not _DIST_NAME.match(name):
        raise ValueError("invalid distribution name %r: use letters, digits, '-', '_' and "
                         "'.', starting and ending with a letter or digit" % (name,))
    package = re.sub(r"[-_.]+", "_", name).lower()
    if not package.isidentifier() or keyword.iskeyword(package) or package[0].isdigit():
        raise ValueError("invalid distribution name %r: its package name %r is not a "
                         "Python identifier" % (name, package))
    if package in _RESERVED_PACKAGES:
        raise ValueError("invalid distribution name %r: the package name %r is taken"
                         % (name, package))
    chosen: List[str] = []
    for event in events or (DEFAULT_EVENT,):
        if "*" in event:
            raise ValueError("invalid event name %r: a pattern with '*' is not an event; "
                             "name one event" % (event,))
        if not _EVENT_NAME.match(event):
            raise ValueError("invalid event name %r: use letters, digits and '._:/-', "
                             "no spaces" % (event,))
        if event not in chosen:
            chosen.append(event)
    if host is not None:
        host = _check_host(host)
    words = [w for w in re.split(r"[-_.]+", name) if w]
    class_name = "".join(w[:1].upper() + w[1:] for w in words)
    if not class_name.endswith("Plugin"):
        class_name += "Plugin"
    plugin_name = re.sub(r"[-_.]+", "-", name).lower()
    plan = ProjectPlan(name, package, plugin_name, class_name, _method_names(chosen), host)
    plan.files = _render(plan)
    return plan


def _check_host(host: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(host)
    except InvalidRequirement:
        raise ValueError("invalid host %r: give a distribution name, optionally with a "
                         "version specifier (myapp>=2)" % (host,)) from None
    if requirement.url or requirement.marker:
        raise ValueError("invalid host %r: give a distribution name, optionally with a "
                         "version specifier (myapp>=2)" % (host,))
    return str(requirement)


def _method_names(events: Sequence[str]) -> List[Tuple[str, str]]:
    taken = set()
    pairs = []
    for event in events:
        base = "on_" + (re.sub(r"[^0-9A-Za-z]+", "_", event).strip("_").lower() or "event")
        method, n = base, 2
        while method in taken:
            method, n = "%s_%d" % (base, n), n + 1
        taken.add(method)
        pairs.append((event, method))
    return pairs


def write_project(plan: ProjectPlan, target: "os.PathLike[str] | str") -> List[Path]:
    """Write ``plan``'s files under ``target`` (created; an existing folder
    must be empty) and return the paths written.

    Raises :class:`FileExistsError` when ``target`` exists and is not an
    empty folder; nothing is written then.
    """
    folder = Path(target)
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir() or any(folder.iterdir()):
            raise FileExistsError("%s exists and is not an empty folder" % (folder,))
    written = []
    for rel, text in plan.files.items():
        path = folder.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written


# -- templates -------------------------------------------------------------------------


def _requirement_on_us() -> str:
    major_minor = ".".join(__version__.split(".")[:2])
    return "nitro-dispatch>=%s" % (major_minor,)


def _toml_list(items: Sequence[str]) -> str:
    return "[%s]" % ", ".join('"%s"' % item.replace('"', '\\"') for item in items)


def _render(plan: ProjectPlan) -> Dict[str, str]:
    requirements = [_requirement_on_us()] + ([plan.host] if plan.host else [])
    events = ", ".join(event for event, _ in plan.hooks)
    return {
        "pyproject.toml": _PYPROJECT.format(
            dist=plan.dist_name, summary="A nitro_dispatch plugin hooking %s." % events,
            requirements=_toml_list(requirements), plugin=plan.plugin_name,
            package=plan.package, cls=plan.class_name),
        "README.md": _readme(plan, events),
        ".gitignore": "__pycache__/\n*.egg-info/\nbuild/\ndist/\n.mypy_cache/\n"
                      ".pytest_cache/\n",
        "src/%s/__init__.py" % plan.package: _INIT.format(
            dist=plan.dist_name, package=plan.package, cls=plan.class_name),
        "src/%s/plugin.py" % plan.package: _plugin_module(plan),
        "src/%s/py.typed" % plan.package: "",
        "tests/test_plugin.py": _tests(plan),
    }


_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{summary}"
readme = "README.md"
requires-python = ">=3.9"
dependencies = {requirements}

[project.optional-dependencies]
test = ["pytest>=7"]

# The plugin is advertised under the group nitro_dispatch.plugins.  The name
# on the left is the plugin's name: it must equal {cls}.name.
[project.entry-points."nitro_dispatch.plugins"]
{plugin} = "{package}:{cls}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{package} = ["py.typed"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.mypy]
strict = true
files = ["src", "tests"]
mypy_path = "src"
'''

_INIT = '''\
"""The {dist} plugin for nitro_dispatch."""

from {package}.plugin import {cls}

__all__ = ["{cls}"]
'''


def _plugin_module(plan: ProjectPlan) -> str:
    events = [event for event, _ in plan.hooks]
    what = "Hooks %s" % (events[0] if len(events) == 1 else "%d events" % len(events))
    lines = [
        '"""%s: the plugin class that nitro_dispatch loads."""' % (plan.class_name,),
        "",
        "from typing import Any, Dict",
        "",
        "from nitro_dispatch import PluginBase, hook",
        "",
        "",
        "class %s(PluginBase):" % (plan.class_name,),
        '    """%s; counts the calls of each hook."""' % (what,),
        "",
        "    # The entry-point name in pyproject.toml; the version is the",
        "    # distribution's.",
        "    name = %s" % (_py_str(plan.plugin_name),),
        "    description = %s" % (_py_str(what),),
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        "        self.calls: Dict[str, int] = {}",
        "",
        "    def on_load(self) -> None:",
        '        """Called once the hooks are attached."""',
        "        self.calls.clear()",
    ]
    for event, method in plan.hooks:
        lines += [
            "",
            "    @hook(%s)" % (_py_str(event),),
            "    def %s(self, data: Any) -> Any:" % (method,),
            '        """Receive the event\'s data; return new data, or None to',
            '        keep it."""',
            "        event = %s" % (_py_str(event),),
            "        self.calls[event] = self.calls.get(event, 0) + 1",
            "        return data",
        ]
    return "\n".join(lines) + "\n"


def _tests(plan: ProjectPlan) -> str:
    event = plan.hooks[0][0]
    return '''\
"""Tests of the {plugin_raw} plugin, with the fixtures and helpers of
nitro_dispatch.testing (a pytest plugin: nothing to configure)."""

from typing import Any, Dict

from nitro_dispatch import PluginManager
from nitro_dispatch.testing import assert_plugin_conforms

from {package} import {cls}


def test_the_entry_point_loads_the_plugin(
        plugin_manager: PluginManager) -> None:
    plugin_manager.discover_installed_plugins()
    assert {plugin} in plugin_manager.get_registered_plugins()
    plugin = plugin_manager.load({plugin})
    assert isinstance(plugin, {cls})


def test_the_hooks_conform_to_the_declared_events(
        plugin_manager: PluginManager) -> None:
    # The events that installed applications publish, if any.
    plugin_manager.declare_installed_events()
    assert_plugin_conforms({cls}, plugin_manager)


def test_the_hook_receives_the_data(plugin_manager: PluginManager) -> None:
    plugin_manager.register({cls})
    plugin = plugin_manager.load({plugin})
    assert isinstance(plugin, {cls})
    plugin.calls.clear()  # the count starts here (loading may fire events)
    data: Dict[str, Any] = {{"user": "ada"}}
    assert plugin_manager.trigger({event}, data) == data
    assert plugin.calls == {{{event}: 1}}
'''.format(plugin=_py_str(plan.plugin_name), plugin_raw=plan.plugin_name,
           package=plan.package, cls=plan.class_name, event=_py_str(event))


def _readme(plan: ProjectPlan, events: str) -> str:
    host = ""
    if plan.host:
        host = ("\nIt requires the application `%s`: the application checks that\n"
                "requirement before it imports the plugin (`nitro-dispatch check --host`).\n"
                % (plan.host,))
    return '''\
# {dist}

A [nitro_dispatch](https://pypi.org/project/nitro-dispatch/) plugin,
`{plugin}`, hooking {events}.
{host}
## Layout

- `pyproject.toml`: the distribution, its requirements, and the entry
  point `{plugin} = "{package}:{cls}"` in the group
  `nitro_dispatch.plugins` that makes it a plugin.
- `src/{package}/plugin.py`: `{cls}`, one `@hook` method per event.
- `tests/test_plugin.py`: tests written with `nitro_dispatch.testing`
  (the `plugin_manager` fixture and `assert_plugin_conforms`).

## Develop

```sh
python -m pip install -e ".[test]"   # or: python -m pip install ".[test]"
python -m pytest
nitro-dispatch list                  # shows {plugin}
nitro-dispatch check
```
'''.format(dist=plan.dist_name, plugin=plan.plugin_name, events=events, host=host,
           package=plan.package, cls=plan.class_name)


def _py_str(text: str) -> str:
    """A double-quoted Python string literal (event names hold no quotes or
    backslashes: they are checked)."""
    return '"%s"' % (text,)
