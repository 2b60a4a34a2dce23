"""dbt's saved parse of the project, shared between lakes.

dbt saves its parse in its target folder and starts the next call from it when the
project's files, the vars and the profile's connection are those it parsed with; else
it parses the whole project again (about 6 s). A lake's own saved parse serves its
later runs. A new lake's first run starts from the last parse saved for the same
project, configuration and warehouse file name, kept in a cache folder: dbt checks it
as it checks its own, so a stale or foreign one only costs the parse it would have
made anyway. For that the parse must not depend on the lake's or the warehouse's
folder: the lake's folders reach dbt when it executes (``project.lake_env``), and the
warehouse child runs dbt in the warehouse's folder with the file's name alone
(``in_warehouse_folder``).

The cache folder: ``$JOURNEYLINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/journeyline``,
else ``~/.cache/journeyline``. Nothing in it is needed: deleting it costs one parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

from journeyline.warehouse.project import DUCKDB_PATH_ENV, LAKE_ENV

CACHE_ENV = "JOURNEYLINE_CACHE_DIR"
PARSE_FILE = "partial_parse.msgpack"


def cache_dir() -> Path:
    """Where journeyline keeps what it can rebuild (see the module's docstring)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "journeyline"


def in_warehouse_folder(dbt_args: dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """``run_dbt``'s arguments for a call made from the DuckDB warehouse's folder, and that
    folder (None when the warehouse is not a local DuckDB file: nothing changes then).

    dbt's saved parse holds only for the profile's exact connection, the warehouse's path
    among it; named by its file alone, the same warehouse file name in any folder gives the
    same parse. Every other path in the arguments becomes absolute first.
    """
    env = dict(dbt_args.get("env") or {})
    path = env.get(DUCKDB_PATH_ENV)
    if dbt_args.get("target", "duckdb") != "duckdb" or not path:
        return dbt_args, None
    if path == ":memory:" or ":" in Path(path).name or "://" in path:
        return dbt_args, None  # in memory, MotherDuck (md:…) or remote: no folder
    absolute = Path(os.path.abspath(path))  # not resolve(): DuckDB's WAL goes by the name
    env[DUCKDB_PATH_ENV] = absolute.name
    args = {**dbt_args, "env": env, "work_dir": Path(os.path.abspath(dbt_args["work_dir"]))}
    for key in ("project_dir", "profiles_dir"):
        if key in args:
            args[key] = Path(os.path.abspath(args[key]))
    return args, absolute.parent


def parse_key(dbt_args: dict[str, Any]) -> str:
    """What the saved parse depends on, as a file name: the project, dbt's version, the
    target, the vars and the environment dbt reads while parsing (not the lake's folders,
    read only when it executes)."""
    from dbt.version import __version__ as dbt_version

    env = {k: v for k, v in (dbt_args.get("env") or {}).items() if k not in LAKE_ENV}
    identity = {
        "dbt": dbt_version,
        "project_dir": str(dbt_args.get("project_dir", "")),
        "profiles_dir": str(dbt_args.get("profiles_dir", "")),
        "target": dbt_args.get("target", "duckdb"),
        "vars": dbt_args.get("vars") or {},
        "env": env,
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + ".msgpack"


def saved_parse(dbt_args: dict[str, Any]) -> Path:
    """The lake's own saved parse (dbt's target folder under ``work_dir``)."""
    return Path(dbt_args["work_dir"]) / "target" / PARSE_FILE


def cached_parse(dbt_args: dict[str, Any]) -> Path:
    """The parse cached for these arguments' project and configuration."""
    return cache_dir() / "dbt-parse" / parse_key(dbt_args)


def seed(dbt_args: dict[str, Any]) -> bool:
    """Start a lake without a saved parse from the cached one: True when copied."""
    target = saved_parse(dbt_args)
    cached = cached_parse(dbt_args)
    if target.exists() or not cached.is_file():
        return False
    try:
        _copy_atomic(cached, target)
    except OSError:  # unreadable cache or unwritable lake: dbt parses, as without one
        return False
    return True


def keep(dbt_args: dict[str, Any]) -> bool:
    """Cache the lake's saved parse for the next new lake: True when written."""
    source = saved_parse(dbt_args)
    cached = cached_parse(dbt_args)
    if not source.is_file():
        return False
    try:
        _copy_atomic(source, cached)
    except OSError:  # a read-only home or a full disk costs the next lake a parse, no more
        return False
    return True


def stamp(path: Path) -> tuple[int, int] | None:
    """A file's (mtime, size): whether dbt wrote its saved parse during a call."""
    with suppress(OSError):
        status = path.stat()
        return status.st_mtime_ns, status.st_size
    return None


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy under a temporary name, then rename: a reader sees the old file or the new."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out, open(source, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
