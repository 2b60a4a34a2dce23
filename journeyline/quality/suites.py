"""Load the Great Expectations suites in ``expectations/`` and bind them to config.

The JSON suites hold the expectations with ``$PARAMETER`` placeholders; the
thresholds and severities live in ``quality.checks`` of journeyline.yml. This
module joins the two at validation time, so a threshold is changed in config,
never in a suite or in code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeyline.config import CheckConfig
from journeyline.quality.checks import CheckSpec
from journeyline.quality.results import format_number

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

# expectations/ at the repository root (next to models/ and pipelines/).
SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"

# journeyline severity -> Great Expectations FailureSeverity value.
GX_SEVERITY = {"error": "critical", "warn": "warning"}


class SuiteError(Exception):
    """A suite file is missing, unreadable or has no expectation for a check."""


def read_suite(root: Path, relative: str) -> dict[str, Any]:
    """The parsed JSON of one suite file."""
    path = root / relative
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"expectation suite {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise SuiteError(f"expectation suite {path} is unreadable: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise SuiteError(f"expectation suite {path} has no 'expectations' list")
    return doc


def parameters(spec: CheckSpec, cfg: CheckConfig) -> dict[str, float | None]:
    """The ``$PARAMETER`` values for one check, from its config."""
    if spec.kind == "count":
        return {f"{spec.name}_max": int(cfg.max or 0)}
    if cfg.min is None and cfg.max is None:
        raise SuiteError(
            f"no threshold configured: set quality.checks.{spec.name}.max (and/or min)"
        )
    return {f"{spec.name}_min": cfg.min, f"{spec.name}_max": cfg.max}


def threshold_text(spec: CheckSpec, cfg: CheckConfig) -> str:
    """The threshold as people read it: '= 0', '<= 0.05', 'between 0.01 and 0.05'."""
    if spec.kind == "count":
        limit = int(cfg.max or 0)
        return "= 0" if limit == 0 else f"<= {limit}"
    if cfg.min is not None and cfg.max is not None:
        return f"between {format_number(cfg.min)} and {format_number(cfg.max)}"
    if cfg.max is not None:
        return f"<= {format_number(cfg.max)}"
    if cfg.min is not None:
        return f">= {format_number(cfg.min)}"
    return "not configured"


def build_suite(doc: dict[str, Any], spec: CheckSpec, cfg: CheckConfig) -> ExpectationSuite:
    """A GX suite holding only ``spec``'s expectations, with the configured severity."""
    import great_expectations as gx

    chosen = [
        {**exp, "severity": GX_SEVERITY[cfg.severity]}
        for exp in doc["expectations"]
        if isinstance(exp, dict) and (exp.get("meta") or {}).get("check") == spec.name
    ]
    if not chosen:
        raise SuiteError(f"suite {spec.suite} has no expectation with meta.check = {spec.name!r}")
    suite = gx.ExpectationSuite(
        name=f"{doc.get('name', spec.suite)}.{spec.name}",
        expectations=chosen,
        meta={**(doc.get("meta") or {}), "check": spec.name},
    )
    # GX drops an invalid expectation with a log line only; refuse to check with fewer.
    if len(suite.expectations) != len(chosen):
        raise SuiteError(f"suite {spec.suite} holds an invalid expectation for {spec.name!r}")
    return suite
