"""nitro_dispatch: a plugin framework.

Plugins are :class:`PluginBase` subclasses, shipped as pip-installable
distributions under the entry-point group ``nitro_dispatch.plugins`` (or as
drop-in files); a :class:`PluginManager` finds, orders and loads them, and
``manager.trigger(event, data)`` runs their hooks as a data-filter chain.
"""

from ._errors import (DependencyError, HookError, HookTimeoutError, NitroPluginError,
                      PluginDiscoveryError, PluginLoadError, PluginNotFoundError,
                      PluginRegistrationError, StopPropagation, ValidationError)
from ._events import EventSpec, event_spec
from ._hooks import HookRecord, hook
from ._manager import DEFAULT_GROUP, PluginManager
from ._phases import PHASES
from ._plugin import PluginBase
from ._plan import HookTrace
from ._registry import HookRegistry
from ._source import PluginProblem, PluginSource
from ._version import __version__  # noqa: F401  (re-exported)

TYPE_CHECKING = False
if TYPE_CHECKING:  # the lazily imported names, for type checkers
    from ._distributions import InstalledPlugin, list_installed_plugins
    from ._dropin_listing import DropinPlugin, list_dropin_plugins


__all__ = [
    "PluginManager",
    "PluginBase",
    "HookRegistry",
    "hook",
    "HookRecord",
    "EventSpec",
    "event_spec",
    "HookTrace",
    "PluginSource",
    "PluginProblem",
    "InstalledPlugin",
    "list_installed_plugins",
    "DropinPlugin",
    "list_dropin_plugins",
    "PHASES",
    "DEFAULT_GROUP",
    "NitroPluginError",
    "PluginLoadError",
    "PluginRegistrationError",
    "PluginNotFoundError",
    "PluginDiscoveryError",
    "DependencyError",
    "HookError",
    "HookTimeoutError",
    "ValidationError",
    "StopPropagation",
]

_LAZY = {"list_installed_plugins", "InstalledPlugin"}
_LAZY_DROPINS = {"list_dropin_plugins", "DropinPlugin"}


def __getattr__(name: str) -> object:
    # The entry-point listing is imported on first use, not with the package.
    if name in _LAZY:
        from . import _distributions

        return getattr(_distributions, name)
    if name in _LAZY_DROPINS:  # ast is imported on first use too
        from . import _dropin_listing

        return getattr(_dropin_listing, name)
    raise AttributeError("module 'nitro_dispatch' has no attribute %r" % (name,))
