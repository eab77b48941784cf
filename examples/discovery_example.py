"""Drop-in plugin files and hot reload.

The example writes plugin files into a temporary directory, discovers and
loads them, edits one file and reloads it, and then shows that a reload that
fails (a syntax error, an ``on_load`` that raises) keeps the previous
version in service.

Run it from the repository root:  python examples/discovery_example.py
"""

from __future__ import annotations

import logging
import os
import tempfile
import textwrap

from nitro_dispatch import PluginLoadError, PluginManager

GREETER = """
from nitro_dispatch import PluginBase, hook

from .phrases import HELLO


class Greeter(PluginBase):
    name = "greeter"
    version = {version!r}

    @hook("greet", priority=80)
    def greet(self, data):
        return "{{}}, {{}}{punctuation}".format(HELLO, data)
{extra}"""

SHOUTER = """
from nitro_dispatch import PluginBase, hook


class Shouter(PluginBase):
    name = "shouter"
    dependencies = ["greeter>=1"]

    def on_load(self):
        # Keeps a reference to the plugin it depends on.
        self.greeter = self.manager.get_plugin("greeter")

    @hook("greet", priority=10)
    def shout(self, data):
        return "%s (greeter %s)" % (data.upper(), self.greeter.version)
"""


def write(directory: str, filename: str, source: str) -> str:
    path = os.path.join(directory, filename)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(source).lstrip())
    return path


def main() -> None:
    # Problems are reported through get_problems() and the error event;
    # this example prints those and keeps the log quiet.
    logging.getLogger("nitro_dispatch").addHandler(logging.NullHandler())

    with tempfile.TemporaryDirectory() as folder, \
            tempfile.TemporaryDirectory() as other_folder:
        write(folder, "phrases.py", 'HELLO = "Hello"\n')
        write(folder, "greeter_plugin.py",
              GREETER.format(version="1.0.0", punctuation="!", extra=""))
        write(folder, "shouter_plugin.py", SHOUTER)
        write(folder, "broken_plugin.py", "import a_module_nobody_installed\n")
        write(folder, "notes.py", "raise SystemExit('not a plugin file: never imported')\n")
        # Another directory with a plugin of the same name.
        write(other_folder, "greeter_plugin.py",
              GREETER.replace("from .phrases import HELLO", 'HELLO = "Hi"')
              .format(version="9.0.0", punctuation="", extra=""))

        manager = PluginManager()

        # 1. Discover: each file is imported under a module name of its own;
        #    one that fails to import is reported and the others register.
        names = manager.discover_plugins(folder)
        print("discovered:", ", ".join(names))
        for problem in manager.get_problems():
            path = problem.source.path if problem.source else None
            print("%s problem: %s: %s" % (problem.phase, os.path.basename(str(path)),
                                          type(problem.error).__name__))

        # 2. The first registration of a name wins; a later claim is reported.
        print("from the other directory:", manager.discover_plugins(other_folder))
        conflict = manager.get_problems()[-1]
        print("conflict reported: phase=%s plugin=%s" % (conflict.phase, conflict.plugin))

        # 3. Load (dependencies first) and trigger.
        print("loaded:", ", ".join(manager.load_all()))
        print("trigger:", manager.trigger("greet", "ada"))

        # 4. Edit the file and reload: the new code answers, and the plugin
        #    that depends on it is re-attached to the new instance.
        write(folder, "greeter_plugin.py",
              GREETER.format(version="1.1.0", punctuation="!!", extra=""))
        manager.reload("greeter")
        print("after editing and reloading:", manager.trigger("greet", "ada"))
        shouter = manager.get_plugin("shouter")
        print("shouter sees the new greeter:",
              getattr(shouter, "greeter") is manager.get_plugin("greeter"))

        # 5. A disabled plugin stays disabled across a reload.
        manager.disable_plugin("shouter")
        manager.reload("greeter")
        print("shouter disabled, after reload:", manager.trigger("greet", "ada"))
        manager.enable_plugin("shouter")

        # 6. A reload that fails keeps the previous version in service.
        write(folder, "greeter_plugin.py", "class Greeter(:\n")
        try:
            manager.reload("greeter")
        except PluginLoadError as exc:
            print("syntax error: PluginLoadError caused by %s" % type(exc.__cause__).__name__)
        print("still answering:", manager.trigger("greet", "ada"))

        write(folder, "greeter_plugin.py", GREETER.format(
            version="2.0.0", punctuation="?", extra=textwrap.indent(textwrap.dedent("""
                def on_load(self):
                    raise RuntimeError("version 2 is not ready")
            """), "    ")))
        try:
            manager.reload("greeter")
        except PluginLoadError as exc:
            print("on_load raised: PluginLoadError caused by %s: %s"
                  % (type(exc.__cause__).__name__, exc.__cause__))
        print("still answering:", manager.trigger("greet", "ada"))
        print("greeter version in service:", manager.get_plugin_version("greeter"))
        print("source:", manager.get_plugin_source("greeter").kind,
              os.path.basename(str(manager.get_plugin_source("greeter").path)))

        manager.unload_all()
    print("done")


if __name__ == "__main__":
    main()
