"""SPEC section 11: fuzz the listing cache's reader with random and mutated
bytes, in a child process, so that a crash (a signal, a fatal error) shows as
what it is instead of taking the test run down."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fixtures import age_tree, make_plugin_dist

REPO = Path(__file__).resolve().parent.parent
SECONDS = 3.0

FUZZER = textwrap.dedent(r"""
    import os, random, sys, time
    from nitro_dispatch import _cache, list_installed_plugins

    seed, seconds, site, cache = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    os.environ["NITRO_DISPATCH_CACHE_DIR"] = cache
    expected = [p.name for p in list_installed_plugins(path=[site])]
    name = _cache.file_name("nitro_dispatch.plugins")
    path = os.path.join(cache, name)
    with open(path, "rb") as f:
        valid = f.read()
    assert _cache.decode(valid) is not None
    header = _cache.HEADER_SIZE
    length_at = len(_cache.MAGIC)

    def mutate(data):
        data = bytearray(data)
        kind = rng.randrange(7)
        if kind == 0:  # random bytes, any length
            return os.urandom(rng.randrange(0, 2 * len(data)))
        if kind == 1:  # truncation
            return bytes(data[:rng.randrange(len(data))])
        if kind == 2:  # bit flips
            for _ in range(rng.randrange(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            return bytes(data)
        if kind == 3:  # the length field changed
            value = rng.choice([0, 1, len(data) - header + rng.randrange(-9, 9),
                                2 ** 31, 2 ** 63, rng.randrange(2 ** 64)])
            data[length_at:length_at + 8] = (value % 2 ** 64).to_bytes(8, "little")
            return bytes(data)
        if kind == 4:  # bytes inserted or removed in the payload
            at = rng.randrange(header, len(data))
            if rng.random() < 0.5:
                return bytes(data[:at] + os.urandom(rng.randrange(1, 16)) + data[at:])
            return bytes(data[:at] + data[at + rng.randrange(1, 16):])
        if kind == 5:  # the valid header before random bytes
            return bytes(data[:header]) + os.urandom(rng.randrange(0, len(data)))
        # marshal-looking garbage: a list or dict header claiming huge sizes
        return bytes(data[:header]) + rng.choice([b"[", b"{", b"(", b"s", b"\xdb"]) + \
            rng.randrange(2 ** 32).to_bytes(4, "little") + os.urandom(rng.randrange(64))

    def random_value(depth=0):
        kind = rng.randrange(9 if depth < 3 else 6)
        if kind < 6:
            return [None, rng.randrange(-2 ** 70, 2 ** 70), rng.random(),
                    "x" * rng.randrange(4), b"\0", True][kind]
        items = [random_value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 6:
            return items
        if kind == 7:
            return {str(i) if rng.random() < 0.5 else i: v for i, v in enumerate(items)}
        return tuple(items)

    def replace_somewhere(node):  # a random value in place of a random node
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                return
            key = rng.choice(keys)
            child = node[key]
            if isinstance(child, (dict, list)) and child and rng.random() < 0.7:
                node = child
                continue
            node[key] = random_value()
            return

    import marshal
    cases = listings = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        bad = mutate(valid)
        result = _cache.decode(bad)
        # Only the intact file decodes (a mutation may give it back exactly).
        assert result is None or bad == valid, bad[:64]
        cases += 1
        if cases % 50 == 0:  # through the file, as a listing reads it
            with open(path, "wb") as f:
                f.write(bad)
            assert [p.name for p in list_installed_plugins(path=[site])] == expected
            listings += 1
            # An intact file whose document is not what a listing writes
            # (wrong types, shapes, values) is not trusted blindly either:
            # the listing may believe a doctored value, but never raises.
            doc = marshal.loads(valid[header:])
            replace_somewhere(doc)
            with open(path, "wb") as f:
                f.write(_cache.encode(doc))
            found = list_installed_plugins(path=[site])
            assert all(type(p.name) is str for p in found)
    print("ok", cases, listings)
""")


def test_cache_reader_fuzz(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for i in range(20):
        make_plugin_dist(site, "fuzz%d" % i, "1.%d" % i, {"fuzz%d" % i: "fuzz:P"})
    age_tree(site)
    seed = int.from_bytes(os.urandom(4), "little")
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONFAULTHANDLER="1")
    env.pop("NITRO_DISPATCH_NO_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", FUZZER, str(seed), str(SECONDS), str(site),
                           str(tmp_path / "cache")],
                          env=env, capture_output=True, text=True, timeout=120)
    context = "seed %d: status %d\n%s" % (seed, proc.returncode, proc.stderr[-3000:])
    assert proc.returncode == 0, context  # a negative status is a signal (a crash)
    # Nothing on stderr but the warning a believed doctored record may give
    # (a cached "problem" string: that distribution's entry points skipped).
    believed = "skipping the entry points of "
    assert all(line.startswith(believed) or line.startswith(" ") or not line.strip()
               for line in proc.stderr.splitlines()), context
    assert "Traceback" not in proc.stderr and "Fatal" not in proc.stderr, context
    word, cases, listings = proc.stdout.split()
    assert word == "ok" and int(cases) >= 500 and int(listings) >= 10, proc.stdout
