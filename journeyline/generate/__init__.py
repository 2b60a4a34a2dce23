"""``journeyline generate``: realistic, seeded synthetic landing data with ground truth.

Marketing, sales and service events of B2B people land as canonical JSON lines, with
fragmented identities, late arrivals, duplicates and malformed lines; ``OUT/_truth``
holds the true person behind every event so every pipeline step can be checked.
"""

from journeyline.generate.generator import generate
from journeyline.generate.profiles import PROFILES
from journeyline.generate.summary import GenerateSummary, StreamSummary

__all__ = ["PROFILES", "GenerateSummary", "StreamSummary", "generate"]
