"""An application whose plugins are installed distributions.

Run by ``python examples/demo.py`` inside a virtual environment where the
sample plugins of ``sample_plugins/`` are pip-installed.  It works in any
environment: it shows whatever plugins are installed there.
"""

from __future__ import annotations

import asyncio

from nitro_dispatch import PluginManager, list_installed_plugins


def main() -> None:
    print("Installed plugins (read from metadata; no plugin code imported):")
    for item in list_installed_plugins():
        print("  %-8s %-30s from %s %s"
              % (item.name, item.value, item.dist_name, item.dist_version))

    config = {"welcome": {"greeting": "Hello"}, "cache": {"ttl": 30}}
    with PluginManager(config=config) as manager:
        manager.register_hook(manager.EVENT_PLUGIN_LOADED, lambda event: print(
            "  loaded %s %s" % (event["plugin_name"], event["version"])))
        manager.register_hook(manager.EVENT_PLUGIN_UNLOADED, lambda event: print(
            "  unloaded %s" % (event["plugin_name"],)))
        # The application's hook API, published by the nitro-demo-events
        # distribution under the entry-point group nitro_dispatch.events.
        declared = manager.declare_installed_events()
        print("\nDeclared events: %s" % (", ".join(
            "%s (%s%s)" % (name, spec.mode, ", historic" if spec.historic else "")
            for name, spec in manager.get_event_specs().items()) or "none",))
        # Historic: remembered, and replayed to plugins loaded later.
        manager.trigger("app.started", {"app": "DemoApp", "version": "1.0"})
        names = manager.discover_installed_plugins()
        print("\nDiscovered %d plugins: %s" % (len(names), ", ".join(names)))
        print("Loading them in dependency order:")
        manager.load_all()
        for name in manager.get_loaded_plugins():
            source = manager.get_plugin_source(name)
            plugin = manager.get_plugin(name)
            deps = ", ".join(type(plugin).dependencies) or "none"
            print("  %-8s %-6s from %s; depends on: %s"
                  % (name, plugin.version, source.describe(), deps))

        print("\nTriggering events (each hook gets the data and passes it on):")
        request = manager.trigger("app.request", {"user": "ada", "path": "/"})
        print("  app.request   ->", request)
        print("  greeting      ->", manager.trigger("greeting", {"name": "Grace"}))

        async def use_cache() -> None:
            stored = await manager.trigger_async("cache.set", {"key": "ada", "value": 42})
            print("  cache.set     ->", stored)
            print("  cache.get     ->", await manager.trigger_async("cache.get", {"key": "ada"}))
            print("  cache.get     ->", await manager.trigger_async("cache.get", {"key": "bob"}))

        asyncio.run(use_cache())

        audit = manager.get_plugin("audit")
        if audit is not None:
            print("  audit trail   ->", getattr(audit, "records", None))

        if declared:
            print("\nDeclared modes (collect, first), a wrapper and a historic event:")
            print("  app.menu      ->", manager.trigger("app.menu", {"page": "/"}))
            print("  cache.lookup  ->", asyncio.run(manager.trigger_async("cache.lookup", "ada")))
            if audit is not None:
                print("  audit wrapper timed %d app.request(s)"
                      % (len(getattr(audit, "timings", [])),))
            welcome = manager.get_plugin("welcome")
            if welcome is not None:
                print("  welcome learnt the app name from the replayed app.started:",
                      getattr(welcome, "app_name", None))

        manager.disable_plugin("welcome")
        print("\nWith welcome disabled: app.request ->",
              manager.trigger("app.request", {"user": "ada"}))
        manager.enable_plugin("welcome")
        print("\nLeaving the manager's with-block unloads every plugin, dependents first:")


if __name__ == "__main__":
    main()
