"""nitro-welcome: greets users.

The smallest complete nitro_dispatch plugin distribution: one
:class:`~nitro_dispatch.PluginBase` subclass, advertised in
``pyproject.toml`` under the entry-point group ``nitro_dispatch.plugins``.
"""

from __future__ import annotations

from typing import Any, Dict

from nitro_dispatch import PluginBase, hook

__all__ = ["WelcomePlugin"]


class WelcomePlugin(PluginBase):
    """Adds a greeting to every request and answers ``greeting`` events.

    Configuration (``PluginManager(config={"welcome": {...}})``):
    ``greeting``, the salutation to use (default ``"Welcome"``).
    """

    # Must equal the entry-point name in pyproject.toml.
    name = "welcome"
    # ``version`` is deliberately left unset: a plugin installed from a
    # distribution takes the distribution's version, so the version number
    # lives in one place only (pyproject.toml).
    description = "Greets users: adds a greeting to requests and answers greeting events."
    author = "The nitro_dispatch developers"

    def on_load(self) -> None:
        # Read configuration once, when the plugin is loaded.
        self.greeting = str(self.get_config("greeting", "Welcome"))
        self.app_name = "the application"

    # A historic event: the application triggered it before this plugin was
    # loaded, and the manager replays it here, after on_load.
    @hook("app.started")
    def remember_app(self, data: Dict[str, Any]) -> None:
        """Note the application's name."""
        self.app_name = str(data.get("app", self.app_name))

    # A collect event: each plugin's return value is one entry of the list.
    @hook("app.menu")
    def menu_entry(self, data: Any) -> str:
        """Contribute a menu entry."""
        return "%s to %s" % (self.greeting, self.app_name)

    @hook("app.request", priority=60)
    def add_greeting(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Give the request a ``greeting`` for its user (or a guest)."""
        user = data.get("user") or "guest"
        # Return a new dict rather than changing the caller's in place.
        return {**data, "greeting": "%s, %s!" % (self.greeting, user)}

    @hook("greeting")
    def greet(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Answer ``{"name": ...}`` with a ``message``."""
        return {**data, "message": "%s, %s!" % (self.greeting, data.get("name", "friend"))}
