"""Names, versions and requirement strings as the packaging standards read
them (SPEC sections 10 and 14), each parsed once per process.

This module owns:

* :func:`canonical_name`: the one spelling of a normalized distribution or
  plugin name (importlib.metadata's: PEP 503 with ``_``), so ``Foo_Bar``,
  ``foo-bar`` and ``foo.bar`` are one name;
* :func:`parse_requirement`: the one requirement-parse cache.  Requirement
  strings are parsed by ``packaging.requirements.Requirement`` and nothing
  else; the result (:class:`ParsedRequirement`) also carries what the
  checks of section 10 ask (the canonical name, the specifier, whether its
  marker holds here with no extra selected) and, instead of an exception,
  the reason a string is unusable;
* :func:`version_problem` and :func:`specifier_contains`: verdicts on
  versions.  ``packaging`` raises more than ``InvalidVersion`` (a number of
  more than 4,300 digits raises ``ValueError``); whatever it raises for one
  string is that string's verdict, never an exception out of a check;
* :data:`STORE` (:class:`VerdictStore`): those verdicts that depend on
  nothing but their strings (and, for markers, the marker environment:
  :func:`marker_environment`), kept on disk between processes beside the
  listing's cache, so a warm start-up imports no ``packaging``;
* :class:`BoundedCache`: the bound every cache of the metadata layer keeps.

``packaging`` is imported only when a string needs it: a bare release
such as ``1.0.0`` is a valid version without it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

__all__ = ["BoundedCache", "ParsedRequirement", "VerdictStore", "STORE", "canonical_name",
           "parse_requirement", "version_problem", "specifier_contains", "plain_release",
           "marker_environment"]


class BoundedCache:
    """A memo of at most ``limit`` entries; when full, the oldest entry
    goes (one at a time, so a busy cache never empties at once)."""

    __slots__ = ("limit", "data")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data: Dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        """The value kept for ``key``, or None."""
        return self.data.get(key)

    def put(self, key: Any, value: Any) -> Any:
        """Keep ``value`` for ``key``; return it."""
        data = self.data
        if len(data) >= self.limit and key not in data:
            del data[next(iter(data))]
        data[key] = value
        return value

    def __len__(self) -> int:
        return len(self.data)

    def clear(self) -> None:
        self.data.clear()


_NAMES: BoundedCache = BoundedCache(20_000)


def canonical_name(name: str) -> str:
    """``name`` as distribution and plugin names compare: lower case, every
    run of ``-``, ``_`` and ``.`` one ``_`` (importlib.metadata's normalized
    name; PEP 503's with ``_`` for ``-``)."""
    out: Optional[str] = _NAMES.get(name)
    if out is None:
        out = name.lower().replace("-", "_").replace(".", "_")
        while "__" in out:
            out = out.replace("__", "_")
        _NAMES.put(name, out)
    return out


def plain_release(version: str) -> bool:
    """A bare PEP 440 release (``N(.N)*``, ASCII digits, no number of more
    than 4,300 digits), which is a valid version without asking ``packaging``."""
    return all(part.isascii() and part.isdigit() and len(part) < 4300
               for part in version.split("."))


class ParsedRequirement:
    """One requirement string as ``packaging`` reads it.

    ``requirement`` is the ``packaging.requirements.Requirement`` (None when
    the string is unusable, ``error`` then says why, in one line; built on
    first use when the verdict came from :data:`STORE`).  ``name`` as
    written, ``canonical`` as compared, ``specifier`` the specifier set's
    text (``""`` for none), ``marker`` its text (None for none), ``shown``
    the requirement without its marker (``myapp>=3``), and ``active``
    whether its marker holds for this interpreter with no extra selected (a
    requirement of an extra does not).
    """

    __slots__ = ("text", "_requirement", "error", "name", "canonical", "specifier", "marker",
                 "shown", "active")

    def __init__(self, text: str, name: str, specifier: str, marker: Optional[str],
                 error: str = "", requirement: Any = None) -> None:
        self.text = text
        self._requirement = requirement
        self.error = error
        self.name = name
        self.canonical = canonical_name(name) if name else ""
        self.specifier = specifier
        self.marker = marker
        self.shown = name + specifier
        self.active = not error and (marker is None or _marker_holds(marker, requirement))

    @property
    def requirement(self) -> Any:
        if self._requirement is None and not self.error:
            from packaging.requirements import Requirement

            self._requirement = Requirement(self.text)
        return self._requirement

    def products(self) -> List[Any]:
        """What :data:`STORE` keeps of it (nothing that depends on the interpreter)."""
        return [self.name, self.specifier, self.marker, self.error]


_REQUIREMENTS: BoundedCache = BoundedCache(20_000)


def parse_requirement(text: str) -> ParsedRequirement:
    """The :class:`ParsedRequirement` of ``text``; parsed once per process
    (and, through :data:`STORE`, once per cache directory).  Never raises:
    an unusable string (not PEP 508, or a specifier whose version
    ``packaging`` cannot compare) has ``error`` set."""
    parsed: Optional[ParsedRequirement] = _REQUIREMENTS.get(text)
    if parsed is None:
        kept = STORE.recall("requirements", text)
        if type(kept) is list and len(kept) == 4 and type(kept[0]) is str and \
                type(kept[1]) is str and (kept[2] is None or type(kept[2]) is str) and \
                type(kept[3]) is str:
            parsed = ParsedRequirement(text, *kept)
        else:
            parsed = _parse_requirement(text)
            STORE.remember("requirements", text, parsed.products())
        _REQUIREMENTS.put(text, parsed)
    return parsed


def _parse_requirement(text: str) -> ParsedRequirement:
    from packaging.requirements import Requirement

    try:
        req = Requirement(text)
        for spec in req.specifier:  # a version packaging cannot compare is unusable
            spec.contains("0", prereleases=True)
    except Exception as exc:  # any reason packaging has: the string's verdict
        return ParsedRequirement(text, "", "", None, _one_line(exc, "not a PEP 508 requirement"))
    marker = None if req.marker is None else str(req.marker)
    return ParsedRequirement(text, req.name, str(req.specifier), marker, "", req)


def _marker_holds(marker: str, requirement: Any) -> bool:
    """Whether ``marker`` holds here with no extra selected: ``packaging``'s
    verdict, kept in :data:`STORE` for this marker environment
    (:func:`marker_environment`), so a warm start evaluates nothing."""
    env = marker_environment()
    key = None if env is None else marker + "\0" + env
    if key is not None:
        kept = STORE.recall("markers", key)
        if type(kept) is bool:
            return kept
    try:
        if requirement is not None:
            found = requirement.marker
        else:
            from packaging.markers import Marker

            found = Marker(marker)
        holds = bool(found.evaluate({"extra": ""}))
    except Exception:  # an undefined marker variable, say: not applicable here
        holds = False
    if key is not None:
        STORE.remember("markers", key, holds)
    return holds


_ENVIRONMENT: List[Optional[str]] = []


def marker_environment() -> Optional[str]:
    """What PEP 508 markers are evaluated against, as one string: every
    value ``packaging.markers.default_environment()`` derives its variables
    from (the interpreter's version, build and implementation, ``os.name``,
    ``sys.platform`` and ``os.uname()`` but the node name), without
    importing ``platform``.  None where ``os.uname`` is missing (Windows,
    whose ``platform`` answers come from elsewhere): there marker verdicts
    are not kept between processes."""
    if not _ENVIRONMENT:
        import os
        import sys

        uname = getattr(os, "uname", None)
        if uname is None:
            _ENVIRONMENT.append(None)
        else:
            u = uname()
            impl = sys.implementation
            _ENVIRONMENT.append(repr((sys.version, impl.name, tuple(impl.version), os.name,
                                      sys.platform, u.sysname, u.release, u.version,
                                      u.machine)))
    return _ENVIRONMENT[0]


class VerdictStore:
    """Verdicts that depend on nothing but their keys, kept in the listing's
    cache directory between processes, so a warm start-up needs neither
    ``packaging`` nor a metadata parser.  Tables: ``requirements`` (a
    requirement string: its name, specifier, marker text and error),
    ``contains`` (specifier and version: whether it satisfies), ``markers``
    (a marker's text and the marker environment: whether it holds) and
    ``versions`` (a metadata file's path and stat: its ``Version`` header).

    The file is :mod:`._cache`'s, read and written as the listing's cache
    is (owner and mode checked, whole or ignored).  A document of another
    format or written by another version of nitro_dispatch is ignored
    whole; an entry of the wrong type is ignored (its caller decides
    afresh).  ``packaging``'s own version is not part of the keys: its
    verdicts on these strings are taken to be the standards', which do not
    change.  Loaded on first need; :meth:`save` writes what is new (the
    requirement checks call it).  At most ``LIMIT`` entries a table are
    kept, the newest."""

    LIMIT = 5_000
    NAME = "verdicts.marshal"
    FORMAT = 2
    TABLES = ("requirements", "contains", "markers", "versions")

    __slots__ = ("tables", "loaded", "dirty")

    def __init__(self) -> None:
        self.tables: Dict[str, Dict[str, Any]] = {name: {} for name in self.TABLES}
        self.loaded = False
        self.dirty = False

    def load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        from . import _cache

        directory = _cache.cache_dir()
        doc = _cache.read(directory, self.NAME) if directory else None
        from ._version import __version__

        if type(doc) is dict and doc.get("format") == self.FORMAT and \
                doc.get("writer") == __version__:
            for name, table in self.tables.items():
                kept = doc.get(name)
                if type(kept) is dict:
                    table.update(kept)

    def recall(self, table: str, key: str) -> Any:
        """What was remembered for ``key`` (unchecked: callers check its
        shape), or None."""
        self.load()
        return self.tables[table].get(key)

    def remember(self, table: str, key: str, value: Any) -> None:
        kept = self.tables[table]
        if len(kept) >= self.LIMIT and key not in kept:
            del kept[next(iter(kept))]
        kept[key] = value
        self.dirty = True

    def save(self) -> None:
        """Write the store if anything was added since it was read."""
        if not self.dirty:
            return
        self.dirty = False
        from . import _cache

        directory = _cache.cache_dir()
        if directory:
            from ._version import __version__

            doc: Dict[str, Any] = {"format": self.FORMAT, "writer": __version__}
            doc.update(self.tables)
            _cache.write(directory, self.NAME, doc)


STORE = VerdictStore()


_VERSIONS: BoundedCache = BoundedCache(20_000)


def version_problem(version: str) -> Optional[str]:
    """None when ``version`` is a valid PEP 440 version, else why not (one
    line).  Whatever ``packaging`` raises is the verdict, never raised."""
    problem = _VERSIONS.get(version)
    if problem is None:
        problem = ""
        if not plain_release(version):
            from packaging.version import Version

            try:
                Version(version)
            except Exception as exc:
                problem = _one_line(exc, "not a valid PEP 440 version")
        _VERSIONS.put(version, problem)
    return problem or None


_CONTAINS: BoundedCache = BoundedCache(20_000)


def specifier_contains(specifier: str, version: str) -> bool:
    """Whether ``version`` satisfies the specifier set ``specifier``
    (pre-releases included: we check what is installed, we do not choose).
    A version or specifier ``packaging`` cannot compare satisfies nothing."""
    key = (specifier, version)
    ok: Optional[bool] = _CONTAINS.get(key)
    if ok is None:
        kept = STORE.recall("contains", specifier + "\0" + version)
        ok = kept if type(kept) is bool else None
    if ok is None:
        from packaging.specifiers import SpecifierSet

        try:
            ok = bool(SpecifierSet(specifier).contains(version, prereleases=True))
        except Exception:  # InvalidVersion, or ValueError past int's digit limit
            ok = False
        STORE.remember("contains", specifier + "\0" + version, ok)
    _CONTAINS.put(key, ok)
    return ok


def _one_line(exc: Exception, default: str) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else default
