"""Flex Template entry point: `journeyline stream` on Dataflow.

The launcher base image runs this file with the template's parameters as ``--name=value``
arguments plus Dataflow's own options (project, region, temp location, ...). Template
parameters (metadata.json) are journeyline's; everything else goes to Beam. The program
submits the streaming job and exits (a Flex Template must not wait for the job).
"""

from __future__ import annotations

import argparse
import sys

from journeyline.cli import main

# Template parameters (metadata.json) → journeyline's own options.
TEMPLATE_OPTIONS = ("config", "lake")


def journeyline_args(argv: list[str]) -> list[str]:
    """`journeyline stream …` arguments from the launcher's argument list."""
    parser = argparse.ArgumentParser(add_help=False)
    for name in TEMPLATE_OPTIONS:
        parser.add_argument(f"--{name}")
    known, beam = parser.parse_known_args(argv)
    args = ["stream", "--quiet"]
    for name in TEMPLATE_OPTIONS:
        value = getattr(known, name)
        if value:
            args += [f"--{name}", value]
    if not any(a.startswith("--runner") for a in beam):
        beam = ["--runner=DataflowRunner", *beam]
    return [*args, *beam]


if __name__ == "__main__":
    sys.exit(main(journeyline_args(sys.argv[1:])))
