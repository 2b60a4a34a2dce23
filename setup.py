"""Packaging for journeyline.

The same file serves two purposes: ``pip install -e .[all,dev]`` for local work,
and ``--setup_file=./setup.py`` so Beam ships the ``journeyline``, ``pipelines``
and ``transforms`` packages to Dataflow workers. Exact versions live in
``constraints.txt`` (the one place pins are kept); here only names and the
extras that group them.
"""

from setuptools import Extension, find_namespace_packages, setup

PIPELINE = [
    "apache-beam[gcp]",
    "pyarrow",
    "orjson",
    "phonenumbers",
    "PyYAML",
]
WAREHOUSE = [
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "dbt-bigquery",
    "great_expectations",
    "google-cloud-bigquery",
    "pandas",
    "Jinja2",
]
DEV = [
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "ruff",
    "selenium",
    "sqlfluff",
    "sqlglot",
    # benchmarks/ and profiling the batch job
    "psutil",
    "py-spy",
]

setup(
    name="journeyline",
    version="0.1.0",
    description="One customer timeline from marketing, sales and service events.",
    python_requires=">=3.11,<3.12",
    packages=find_namespace_packages(include=["journeyline*", "pipelines*", "transforms*"]),
    include_package_data=True,
    package_data={
        "journeyline": ["defaults/*.yml", "defaults/connectors/*.yml", "quality/vendor/*/*"]
    },
    # The canonical lines' scanner (transforms/scan.py) and the identity graph's node ids
    # (transforms/identifiers.py) in C: optional, so that an install without a C compiler
    # still works, with every line on the orjson path and node ids hashed by hashlib.
    ext_modules=[
        Extension(
            f"transforms.{name}",
            [f"transforms/{name}.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
        for name in ("_linescan", "_nodeids")
    ],
    install_requires=PIPELINE,
    extras_require={"warehouse": WAREHOUSE, "dev": DEV, "all": WAREHOUSE},
    entry_points={"console_scripts": ["journeyline=journeyline.cli:console_main"]},
)
