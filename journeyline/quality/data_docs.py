"""Great Expectations Data Docs that render offline: the drill-down behind the DQ report.

``DataDocs`` is a file-based GX context (suites, validation results, one Data
Docs site). ``run_gates`` hands it every suite and validation result it makes
(``record``); ``build`` renders the site and then rewrites each page so that it
needs nothing from the network: GX's pages load about 28 assets from CDNs
(bootstrap, jquery, font-awesome, vega, ...), which are swapped for the copies
in ``vendor/`` (taken from the npm registry by ``scripts/vendor_gx_assets.sh``)
or removed when our suites never use them (vega charts, the dark theme, the GX
logo).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

log = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
SITE_NAME = "journeyline"

# CDN address (without query) -> the local copy under vendor/.
LOCAL_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "css/bootstrap.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "css/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "css/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "css/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "css/fontawesome.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "css/bootstrap-datepicker.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "js/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "js/popper.min.js"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "js/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "js/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "js/bootstrap-datepicker.min.js",
}

# A tag that loads something: <script src>, <link href>, <img src>.
_LOADING_TAG = re.compile(
    r"<(?P<tag>script|link|img)\b[^>]*?\b(?:src|href)=\"(?P<url>[^\"]*)\"[^>]*>", re.IGNORECASE
)
_SCRIPT_CLOSE = re.compile(r"^\s*</script>", re.IGNORECASE)
_SRI = re.compile(r"\s(?:integrity|crossorigin)=\"[^\"]*\"", re.IGNORECASE)


class DataDocsError(Exception):
    """The Data Docs could not be built; the message says why."""


def _external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def offline_page(html: str, static_prefix: str) -> str:
    """One Data Docs page with every CDN asset pointed at the local copy or removed.

    ``static_prefix`` is the relative path from the page to the site's ``static`` folder.
    GX computes its own relative ``static/`` links from a fixed page depth, which is
    wrong for suite names with dots (one folder per dot); they are re-pointed too.
    """
    vendor_prefix = f"{static_prefix}/vendor"
    out: list[str] = []
    pos = 0
    for match in _LOADING_TAG.finditer(html):
        url = match.group("url")
        if not _external(url):
            if "static/" in url and not url.startswith(static_prefix + "/"):
                out.append(html[pos : match.start()])
                rest = url[url.index("static/") + len("static/") :]
                out.append(match.group(0).replace(url, f"{static_prefix}/{rest}"))
                pos = match.end()
            continue
        out.append(html[pos : match.start()])
        pos = match.end()
        text = match.group(0)
        if match.group("tag").lower() == "script":
            closing = _SCRIPT_CLOSE.match(html, pos)
            if closing:
                pos = closing.end()
                text += "</script>"
        local = LOCAL_ASSETS.get(url.split("?")[0])
        if local is None:
            continue  # not needed by journeyline's suites: drop the request
        out.append(_SRI.sub("", text.replace(url, f"{vendor_prefix}/{local}")))
    out.append(html[pos:])
    return "".join(out)


def make_offline(site: Path) -> int:
    """Vendor the assets into ``site/static/vendor`` and rewrite every page; pages changed."""
    target = site / "static" / "vendor"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR_DIR, target)
    changed = 0
    for page in sorted(site.rglob("*.html")):
        prefix = Path(os.path.relpath(site / "static", page.parent)).as_posix()
        text = page.read_text(encoding="utf-8")
        rewritten = offline_page(text, prefix)
        if rewritten != text:
            page.write_text(rewritten, encoding="utf-8")
            changed += 1
    return changed


def external_requests(html: str) -> list[str]:
    """The addresses a page would still load from the network (for tests and sanity)."""
    return [m.group("url") for m in _LOADING_TAG.finditer(html) if _external(m.group("url"))]


class DataDocs:
    """A file-based GX context in ``root/gx`` whose Data Docs site is written to ``site``."""

    def __init__(self, root: Path, site: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.root = root
        self.site = site
        root.mkdir(parents=True, exist_ok=True)
        try:
            self.context: Any = gx.get_context(mode="file", project_root_dir=str(root))
        except Exception as exc:  # a corrupt context folder must say so, not crash
            raise DataDocsError(
                f"cannot open the Great Expectations context in {root}: {exc}"
            ) from None
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        sites = self.context.variables.data_docs_sites or {}
        config = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(site.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        for name in list(sites):
            self.context.delete_data_docs_site(name)
        self.context.add_data_docs_site(site_name=SITE_NAME, site_config=config)
        self.run_time = datetime.now(UTC)

    def batch_definition(self) -> BatchDefinition:
        """The pandas asset every check's frame is validated as."""
        source = self.context.data_sources.add_or_update_pandas("journeyline_quality")
        names = [asset.name for asset in source.assets]
        asset = (
            source.get_asset("frame") if "frame" in names else source.add_dataframe_asset("frame")
        )
        existing = [bd for bd in asset.batch_definitions if bd.name == "whole_frame"]
        return (
            existing[0] if existing else asset.add_batch_definition_whole_dataframe("whole_frame")
        )

    def record(
        self, suite: ExpectationSuite, validation: ExpectationSuiteValidationResult, run_name: str
    ) -> None:
        """Keep the suite and its validation result for the site (a failure is only logged)."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        try:
            self.context.suites.add_or_update(suite)
            suite_id = ExpectationSuiteIdentifier(name=suite.name)
            run_id = RunIdentifier(run_name=run_name, run_time=self.run_time)
            key = ValidationResultIdentifier(
                expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier="frame"
            )
            validation.meta["run_id"] = run_id
            self.context.validation_results_store.store_validation_results(
                suite_validation_result=validation,
                suite_validation_result_identifier=key,
                expectation_suite_identifier=suite_id,
            )
        except Exception as exc:
            log.warning("could not keep the GX validation of %s for Data Docs: %s", suite.name, exc)

    def build(self) -> Path:
        """Render the site, make it offline, and return its index page."""
        try:
            self.context.build_data_docs(site_names=[SITE_NAME])
        except Exception as exc:
            raise DataDocsError(f"Great Expectations could not build Data Docs: {exc}") from None
        index = self.site / "index.html"
        if not index.is_file():
            raise DataDocsError(f"Great Expectations wrote no Data Docs index in {self.site}")
        make_offline(self.site)
        return index
