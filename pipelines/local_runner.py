"""The local batch runner: Beam's in-process FnApiRunner, without the Prism attempt.

Beam's ``DirectRunner`` first tries to run a batch pipeline on Prism, a runner binary it
downloads from GitHub; offline (and the embedded default must work offline) the download
fails and it falls back to the FnApiRunner. The attempt costs 0.5–1 s per run (it
translates the pipeline once more and starts a job server first), a DNS lookup
that a closed network may answer only after a resolver timeout, and a warning in the log.
A batch pipeline asked of the direct runner therefore goes straight to the runner it
would have fallen back to, set up as the ``DirectRunner`` sets it up; every other runner
(and streaming, which the FnApiRunner does not do) is left to Beam.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.runners.runner import PipelineRunner

from journeyline.config.model import runner_key

# The runners that try Prism first (``runner_key``: however the DirectRunner is named).
_DIRECT = frozenset({"directrunner", "switchingdirectrunner"})


def batch_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The FnApiRunner for a batch pipeline on the direct runner; None for Beam's own choice."""
    standard = options.view_as(StandardOptions)
    name = standard.runner  # None: Beam's default, the DirectRunner
    if standard.streaming or not isinstance(name, str | None) or runner_key(name) not in _DIRECT:
        return None
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(provision))
