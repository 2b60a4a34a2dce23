"""Quality gates that guard publishing (SPEC §8): run the checks, read the results.

``run_gates`` validates the staging schema with Great Expectations and returns
``CheckResult``s; any result with ``blocks_publish`` must stop the publish step.
``to_arrow`` gives the ``dq_results`` rows; ``summarise`` the console report.
Great Expectations is imported only when ``run_gates`` runs (about 3 s).
"""

from journeyline.quality.gates import run_gates
from journeyline.quality.results import DQ_RESULTS_SCHEMA, CheckResult, to_arrow
from journeyline.quality.summary import summarise

__all__ = ["DQ_RESULTS_SCHEMA", "CheckResult", "run_gates", "summarise", "to_arrow"]
