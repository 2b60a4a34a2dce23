"""`journeyline docs`: the warehouse documentation as one offline HTML file.

``dbt docs generate --static`` over the published run's lake attempt writes a
single self-contained page (models, columns, tests, lineage, the catalog of the
staging schema). It must open without a network: any script, stylesheet, image
or font it would load from the internet is reported as an error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from journeyline.config import Config
from journeyline.errors import InputError, PipelineError
from journeyline.lake import Lake
from journeyline.warehouse.project import dbt_args
from journeyline.warehouse.worker import WarehouseWorker

DOCS_FILE = "warehouse_docs.html"

# Resources a browser would fetch (not plain links a reader may follow).
_REMOTE_RESOURCES = (
    re.compile(
        r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
    ),
    re.compile(r"url\(\s*[\"']?(?:https?:)?//", re.I),
    re.compile(r"@import\s+[\"'](?:https?:)?//", re.I),
)


def remote_resources(html: str) -> list[str]:
    """Snippets of ``html`` that load something from the network (empty when offline-safe)."""
    return [
        html[match.start() : match.end() + 60]
        for pattern in _REMOTE_RESOURCES
        for match in pattern.finditer(html)
    ]


def build_docs(config: Config, out_dir: Path) -> Path:
    """Generate the static dbt docs of the published lake attempt into ``out_dir``."""
    lake = Lake.at(config.lake)
    attempt = lake.current()
    if attempt is None:
        raise InputError(
            f"the lake {lake.root} has no published run yet",
            "run `journeyline run` first (docs describe the published warehouse)",
        )
    work = lake.root / "_dbt_docs"
    # In the warehouse child, as a run's dbt calls: from the warehouse's folder, so that
    # dbt starts from the parse a run cached (parse_cache) instead of parsing again.
    args = dbt_args(config, lake.attempt(attempt), lake.ops, work)
    worker = WarehouseWorker(args, gates_here=False)
    try:
        outcome = worker.dbt(["docs", "generate", "--static"])
    finally:
        worker.stop()
    page = work / "target" / "static_index.html"
    if not outcome.success or not page.is_file():
        raise PipelineError(f"dbt docs generate failed: {outcome.summary()}")
    html = page.read_text(encoding="utf-8")
    remote = remote_resources(html)
    if remote:
        raise PipelineError(
            f"the docs page would load {len(remote)} resource(s) from the network, "
            f"e.g. {remote[0]!r}; it would break offline"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DOCS_FILE
    shutil.copyfile(page, target)
    return target
