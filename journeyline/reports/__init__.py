"""Offline HTML reports: the data-quality report and the journey report (SPEC §8, §9)."""
