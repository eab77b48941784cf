"""What happens when a hook raises, by policy (owns the two module-level
context variables: the errors ``collect_all`` gathered, and the runs
handling an error right now).

A policy is an error strategy (``log_and_continue``, ``fail_fast``,
``collect_all``) or one of the engine's own: :data:`QUIET` for lifecycle
events (logged only: an error there never starts another round) and
:data:`REPLAY` for historic replays (told and logged, never raised).
The plugin's ``on_error`` and ``nitro.plugin.error`` hear of every failure
except under :data:`QUIET`, and the failing hook is left out of that
``nitro.plugin.error`` run.  Imported on the first failure only.
"""

from __future__ import annotations

from _contextvars import ContextVar
from _weakref import ref

from ._errors import HookError
from ._hooks import HookRecord
from ._log import get_logger
from ._plan import ERROR_EVENT, QUIET, REPLAY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from ._plan import RunContext

__all__ = ["QUIET", "REPLAY", "ERROR_EVENT", "hook_failed", "store_errors", "last_errors"]

logger = get_logger("nitro_dispatch.registry")

# Per thread or asyncio task: {weak reference to a RunContext: the token of
# its last collect_all errors, which the RunContext keeps}.  A new dict each
# time (contexts copy the binding, not the dict); entries of dead registries
# are dropped then, so it stays bounded.
_LAST_ERRORS: "ContextVar[Dict[Any, _Token]]" = ContextVar(
    "nitro_dispatch_last_errors")
# The RunContexts handling a failure in this thread or task right now.
_IN_ERROR: "ContextVar[Tuple[RunContext, ...]]" = ContextVar(
    "nitro_dispatch_in_error", default=())


def hook_failed(ctx: "RunContext", policy: str, event: str, rec: HookRecord, exc: Exception,
                errors: Optional[List[Dict[str, Any]]]) -> None:
    """Report the failure as ``policy`` says: raise :class:`HookError`
    (``fail_fast``), append to ``errors`` (``collect_all``), or log."""
    if policy == QUIET:
        logger.error("%s failed on event %r: %s: %s", rec.label, event,
                     type(exc).__name__, exc, exc_info=exc)
        return
    if policy == REPLAY:
        logger.error("%s failed replaying historic event %r: %s: %s", rec.label, event,
                     type(exc).__name__, exc, exc_info=exc)
        _notify(ctx, event, rec, exc)
        return
    _notify(ctx, event, rec, exc)
    if policy == "fail_fast":
        raise HookError("%s failed on event %r: %s: %s"
                        % (rec.label, event, type(exc).__name__, exc),
                        event, rec.plugin_name) from exc
    if errors is not None:
        errors.append({"plugin": rec.plugin_name, "error": exc, "event": event})
        logger.debug("collected error of %s on event %r: %r", rec.label, event, exc)
    else:
        logger.error("%s failed on event %r: %s: %s", rec.label, event,
                     type(exc).__name__, exc, exc_info=exc)


def _notify(ctx: "RunContext", event: str, rec: HookRecord, exc: Exception) -> None:
    """Call ``on_error`` and fire ``nitro.plugin.error`` (without ``rec``);
    anything raised there is logged only, and an error inside never starts
    another round."""
    active = _IN_ERROR.get()
    if ctx in active:
        logger.error("%s failed on event %r while handling another error: %s: %s",
                     rec.label, event, type(exc).__name__, exc)
        return
    token = _IN_ERROR.set(active + (ctx,))
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
        ctx.emit(ERROR_EVENT, payload, rec)
    finally:
        _IN_ERROR.reset(token)


class _Token:
    """Names one ``collect_all`` result in one thread or task."""

    __slots__ = ("__weakref__",)


def store_errors(ctx: "RunContext", errors: List[Dict[str, Any]]) -> None:
    """Keep ``errors`` as the caller's last ``collect_all`` errors of
    ``ctx``'s registry: the registry keeps them (``ctx.errors``, by weak
    token), the caller's context only the token, so neither the context nor
    the errors' tracebacks keep a registry alive."""
    known = _LAST_ERRORS.get(None)
    fresh = {key: value for key, value in known.items() if key() is not None} if known else {}
    token = fresh[ref(ctx)] = _Token()
    with ctx.lock:
        table = ctx.errors
        if table is None:
            from weakref import WeakKeyDictionary

            table = ctx.errors = WeakKeyDictionary()
        table[token] = errors
    _LAST_ERRORS.set(fresh)
    if errors:
        logger.warning("event %r: %d hook error(s) collected", errors[0]["event"],
                       len(errors))


def last_errors(ctx: "RunContext") -> List[Dict[str, Any]]:
    known = _LAST_ERRORS.get(None)
    token = known.get(ref(ctx)) if known else None
    table = ctx.errors
    if token is None or table is None:
        return []
    return list(table.get(token, ()))
