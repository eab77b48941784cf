"""The exception hierarchy: everything nitro_dispatch raises derives from
:class:`NitroPluginError`, so one ``except`` catches it all."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Optional

__all__ = [
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


_NO_RESULT = object()  # StopPropagation without ``result=``


class NitroPluginError(Exception):
    """Base class of every nitro_dispatch exception."""


class PluginLoadError(NitroPluginError):
    """A plugin could not be loaded (import, instantiation or ``on_load``)."""


class PluginRegistrationError(NitroPluginError):
    """Something could not be registered as a plugin, or its name is taken."""


class PluginNotFoundError(NitroPluginError):
    """No plugin of that name is registered."""


class PluginDiscoveryError(NitroPluginError):
    """A plugin source (directory, entry-point group) cannot be searched."""


class DependencyError(PluginLoadError):
    """A plugin's dependencies are missing, unsatisfied, failed, or cyclic.

    A plugin that cannot load because of its dependencies is a plugin that
    failed to load, hence the base class.
    """


class HookError(NitroPluginError):
    """A hook raised under the ``fail_fast`` strategy.

    ``event`` and ``plugin`` name where it happened; the original exception
    is chained as ``__cause__``.
    """

    def __init__(self, message: str, event: Optional[str] = None,
                 plugin: Optional[str] = None) -> None:
        super().__init__(message)
        self.event = event
        self.plugin = plugin


class HookTimeoutError(NitroPluginError):
    """A hook ran longer than its ``timeout``.

    It is handled by the error strategy like any hook error: under
    ``fail_fast`` it arrives as the ``__cause__`` of a :class:`HookError`.
    """

    def __init__(self, message: str, event: Optional[str] = None,
                 plugin: Optional[str] = None, timeout: Optional[float] = None) -> None:
        super().__init__(message)
        self.event = event
        self.plugin = plugin
        self.timeout = timeout


class ValidationError(NitroPluginError):
    """Plugin metadata is invalid (name, version, dependencies)."""


class StopPropagation(NitroPluginError):
    """Raised by a hook to end the chain; not an error.

    ``trigger`` returns the data as it stood before the hook that raised,
    or, with ``StopPropagation(result=value)``, ``value`` (in a ``collect``
    event: the results so far plus ``value``).  A positional argument is a
    message, as in 1.x.  ``has_result`` tells whether ``result`` was given
    (``result=None`` counts as given).
    """

    def __init__(self, *args: object, result: object = _NO_RESULT) -> None:
        super().__init__(*args)
        self.result = None if result is _NO_RESULT else result
        self.has_result = result is not _NO_RESULT
