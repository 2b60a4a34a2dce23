"""Finding the files of the configured sources, and fingerprinting them into a run id.

Listing happens once, when the job is built: a missing input folder stops the
run with a clear message before any work starts, and the list (paths, sizes,
modification times) identifies the run, so re-running the same input reuses
the same ``run_id``.
"""

from __future__ import annotations

import hashlib
import json
from fnmatch import fnmatch
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from journeyline.config import Config, SourceConfig
from journeyline.config.sources import is_bigquery
from journeyline.errors import InputError
from transforms.adapters import check_columns, file_globs
from transforms.read import InputFile


def _match(source: SourceConfig) -> list[InputFile]:
    location = source.location
    if "://" not in location:
        path = Path(location)
        if not path.exists():
            raise InputError(
                f"source {source.name!r}: the input location {location} does not exist",
                "create it, point the source's `location` at an existing folder, or pass "
                "--input DIR with a landing folder written by `journeyline generate`",
            )
        folder = path.is_dir()
    else:
        folder = location.endswith("/")
    # Beam's `**` needs at least one sub-folder, so match everything below and filter by name.
    pattern = location.rstrip("/") + "/**" if folder else location
    files: list[InputFile] = []
    for result in FileSystems.match([pattern]):
        for meta in result.metadata_list:
            name = meta.path.rsplit("/", 1)[-1]
            for table, glob in file_globs(source):
                if folder and (name.startswith((".", "_")) or not fnmatch(name, glob)):
                    continue
                mtime = meta.last_updated_in_seconds
                files.append(InputFile(source.name, meta.path, meta.size_in_bytes, mtime, table))
                break
    return sorted(files, key=lambda f: f.path)


def discover(config: Config) -> list[InputFile]:
    """Every input file of every configured source, in a stable order."""
    files: list[InputFile] = []
    for source in config.sources:
        if is_bigquery(source.location):
            continue  # read by ReadFromBigQuery, not listed as files
        matched = _match(source)
        for item in matched:
            check_columns(config, source, item)
        files.extend(matched)
    return files


def fingerprint(files: list[InputFile], config: Config, base: str = "") -> str:
    """A short hash of the inputs, the configuration and the state a run builds on."""
    digest = hashlib.sha256(base.encode())
    for f in files:
        digest.update(f"{f.source}\x1f{f.path}\x1f{f.size}\x1f{f.mtime:.6f}\n".encode())
    digest.update(json.dumps(config.raw, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]
