"""Running the batch job's Beam step on Dataflow: where workers find the lake.

The orchestration around the Beam job (lake state, CURRENT pointer, run log, dbt, gates)
works on a folder. On Dataflow that folder is a Cloud Storage FUSE mount of the lake
bucket (Cloud Composer mounts its bucket at /home/airflow/gcs; GKE and Cloud Run mount
buckets the same way), and ``lake_uri`` names the same place as the workers see it. Every
lake path handed to the pipeline is translated; input files are read where the sources
say (``gs://`` locations on Dataflow). The code reaches the workers as this project's
``setup.py`` package (``--setup_file``, added unless given).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from journeyline.config import Config
from journeyline.config.model import runner_key
from journeyline.errors import InputError

# Runners whose workers are other machines, by ``runner_key`` (however Beam lets them be named).
REMOTE_RUNNERS = frozenset({"dataflowrunner", "testdataflowrunner"})
SETUP_FILE = Path(__file__).resolve().parents[1] / "setup.py"


def option_values(beam_args: list[str], name: str) -> list[str]:
    """The values the Beam options give option ``name`` (``--name X`` or ``--name=X``), in
    order (Beam takes the last), read without importing Beam."""
    values = []
    for i, arg in enumerate(beam_args):
        value = arg.split("=", 1)[1] if arg.startswith(f"--{name}=") else None
        if arg == f"--{name}" and i + 1 < len(beam_args):
            value = beam_args[i + 1]
        if value:
            values.append(value)
    return values


def runner_names(beam_args: list[str]) -> list[str]:
    """The runner names the Beam options give (``--runner X`` or ``--runner=X``), in order
    (Beam runs the last)."""
    return option_values(beam_args, "runner")


def remote_runner(beam_args: list[str]) -> bool:
    """True when the Beam options ask for a runner whose workers are other machines."""
    return any(runner_key(name) in REMOTE_RUNNERS for name in runner_names(beam_args))


def check_runners(beam_args: list[str]) -> None:
    """InputError for a runner name Beam does not know, before anything runs (Beam itself
    would refuse it only once the job's pipeline is built, after the run has started).
    A name with a module path (a runner class of one's own) is left to Beam to import.
    With no runner named, Beam is not imported here (a `run` starts its parse workers' fork
    server first: ``journeyline.parse_server``)."""
    names = runner_names(beam_args)
    if not names:
        return
    from apache_beam.options.pipeline_options import StandardOptions

    known = {runner_key(path) for path in StandardOptions.ALL_KNOWN_RUNNERS}
    for name in names:
        key = runner_key(name)
        if "." not in key and key not in known:
            raise InputError(
                f"--runner {name}: Apache Beam has no runner of that name",
                "leave --runner out for the local runner, or name one of "
                f"{', '.join(StandardOptions.KNOWN_RUNNER_NAMES)} (in any case, with or "
                "without 'Runner')",
            )


def worker_paths(config: Config, beam_args: list[str]) -> Callable[[str], str]:
    """Lake paths as the pipeline's workers see them (identity for local runners)."""
    if not remote_runner(beam_args):
        return lambda path: path
    if not config.lake_uri:
        raise InputError(
            f"Dataflow workers cannot write to the local lake folder {config.lake}",
            "keep the lake in a Cloud Storage bucket mounted here (Cloud Storage FUSE, e.g. "
            "Composer's /home/airflow/gcs/data/lake) and set `lake_uri: gs://BUCKET/data/lake` "
            "to the same place in journeyline.yml",
        )
    local, remote = config.lake.rstrip("/"), config.lake_uri.rstrip("/")

    def translate(path: str) -> str:
        return remote + path[len(local) :] if path.startswith(local) else path

    return translate


def with_setup_file(beam_args: list[str], setup: Path = SETUP_FILE) -> list[str]:
    """Beam options for a remote runner package this project (``--setup_file``) by default."""
    if not remote_runner(beam_args) or any(a.startswith("--setup_file") for a in beam_args):
        return list(beam_args)
    if not setup.is_file():
        raise InputError(
            f"Dataflow workers need journeyline's code, but {setup} does not exist",
            "run from a checkout or the launcher image, or pass --setup_file=PATH/setup.py",
        )
    return [*beam_args, f"--setup_file={setup}"]
