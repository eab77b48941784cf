"""What happens when a hook raises: its plugin's ``on_error`` and the
``nitro.plugin.error`` event are told, then the registry's error strategy
decides (raise, collect, or log).  Imported on the first failure only.
"""

from __future__ import annotations

from ._errors import HookError
from ._hooks import HookRecord
from ._log import get_logger
from ._registry import ERROR_EVENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from ._registry import HookRegistry

__all__ = ["hook_failed", "notify_error", "store_errors"]

logger = get_logger("nitro_dispatch.registry")


def hook_failed(registry: "HookRegistry", event: str, rec: HookRecord, exc: Exception,
                errors: Optional[List[Dict[str, Any]]]) -> bool:
    """Tell the plugin and ``nitro.plugin.error``, then apply the strategy:
    raise (``fail_fast``), collect, or log.  Returns False."""
    notify_error(registry, event, rec, exc)
    strategy = registry._strategy
    if strategy == "fail_fast":
        raise HookError("%s failed on event %r: %s: %s"
                        % (rec.label, event, type(exc).__name__, exc),
                        event, rec.plugin_name) from exc
    if errors is not None or strategy == "collect_all":
        if errors is not None:
            errors.append({"plugin": rec.plugin_name, "error": exc, "event": event})
        logger.debug("collected error of %s on event %r: %r", rec.label, event, exc)
    else:
        logger.error("%s failed on event %r: %s: %s", rec.label, event,
                     type(exc).__name__, exc, exc_info=exc)
    return False


def notify_error(registry: "HookRegistry", event: str, rec: HookRecord, exc: Exception) -> None:
    """Call ``on_error`` and fire ``nitro.plugin.error``; anything raised
    there is logged only, and errors inside never start another round."""
    in_error = registry._in_error_var
    if in_error is None:
        import contextvars
        in_error = registry._in_error_var = contextvars.ContextVar(
            "nitro_dispatch_in_error_%d" % id(registry), default=False)
    if in_error.get():
        logger.error("%s failed on event %r while handling another error: %s: %s",
                     rec.label, event, type(exc).__name__, exc)
        return
    token = in_error.set(True)
    try:
        on_error = getattr(rec.plugin, "on_error", None) if rec.plugin is not None else None
        if on_error is not None:
            try:
                on_error(exc)
            except Exception as inner:
                logger.error("on_error of %s raised %s: %s", rec.label,
                             type(inner).__name__, inner, exc_info=inner)
        payload = {"plugin_name": rec.plugin_name, "plugin": rec.plugin, "error": exc,
                   "event": event, "phase": "hook"}
        registry.emit_safely(ERROR_EVENT, payload)
    finally:
        in_error.reset(token)


def store_errors(registry: "HookRegistry", errors: List[Dict[str, Any]]) -> None:
    var = registry._errors_var
    if var is None:
        import contextvars
        with registry._lock:
            var = registry._errors_var
            if var is None:
                var = registry._errors_var = contextvars.ContextVar(
                    "nitro_dispatch_errors_%d" % id(registry))
    var.set(errors)
    if errors:
        logger.warning("event %r: %d hook error(s) collected", errors[0]["event"],
                       len(errors))
