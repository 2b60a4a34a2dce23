"""The deployment files: Flex Template metadata and launcher, Dockerfile, Airflow DAG, cron.

Docker and Airflow do not run here (Airflow is too heavy to install for a test): the files
are checked for what would break a deployment — the metadata's shape and regexes, paths the
Dockerfile copies, the DAG's scheduling guarantees and exit-code handling (parsed with
``ast``), the shell script's syntax.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from journeyline.config import default_config
from journeyline.dataflow import with_setup_file, worker_paths
from journeyline.errors import GateBlocked, InputError, PipelineError
from journeyline.warehouse.bigquery import in_bucket

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _launcher():
    import importlib.util

    spec = importlib.util.spec_from_file_location("launcher", DEPLOY / "dataflow" / "launcher.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_the_flex_template_metadata_is_well_formed() -> None:
    meta = json.loads((DEPLOY / "dataflow" / "metadata.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-z][-a-z0-9]*", meta["name"]) and meta["description"]
    assert meta["streaming"] is True and meta["defaultStreamingMode"] in (
        "AT_LEAST_ONCE",
        "EXACTLY_ONCE",
    )
    names = [p["name"] for p in meta["parameters"]]
    assert len(names) == len(set(names))
    assert set(names) <= set(_launcher().TEMPLATE_OPTIONS)
    for param in meta["parameters"]:
        assert set(param) <= {"name", "label", "helpText", "isOptional", "regexes", "paramType"}
        assert param["label"] and param["helpText"] and isinstance(param["isOptional"], bool)
        example = param["helpText"].rsplit("Example: ", 1)[1]
        assert all(re.fullmatch(rx, example) for rx in param["regexes"]), param["name"]


def test_the_launcher_passes_template_parameters_to_journeyline_and_the_rest_to_beam() -> None:
    args = _launcher().journeyline_args(
        ["--config=/template/journeyline.yml", "--project=p", "--lake", "gs://b/lake"]
    )
    assert args[:2] == ["stream", "--quiet"]
    assert args[2:6] == ["--config", "/template/journeyline.yml", "--lake", "gs://b/lake"]
    assert args[6:] == ["--runner=DataflowRunner", "--project=p"]


def test_the_dockerfile_copies_what_exists_and_launches_the_launcher() -> None:
    text = (DEPLOY / "dataflow" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(
        r"^FROM gcr\.io/dataflow-templates-base/python311-template-launcher", text, re.M
    )
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source
    py_file = re.search(r'FLEX_TEMPLATE_PYTHON_PY_FILE="\$\{WORKDIR\}/(.+?)"', text)
    assert py_file and (ROOT / py_file.group(1)).is_file()
    assert 'FLEX_TEMPLATE_PYTHON_SETUP_FILE="${WORKDIR}/setup.py"' in text
    assert "JOURNEYLINE_HASH_KEY" not in text  # no secret is baked into an image
    # The C scanner's source is there when `pip install -e` builds it, and no extension
    # built on the machine that builds the image is copied over the image's own.
    assert text.index("transforms/_linescan.c") < text.index("pip install")
    assert "**/*.so" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def _dag_call(tree: ast.Module) -> ast.Call:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG":
            return node
    raise AssertionError("no DAG(...) in the file")


def test_the_airflow_dag_runs_windows_in_order_and_acts_on_exit_codes() -> None:
    source = (DEPLOY / "airflow" / "journeyline_dag.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    dag = {kw.arg: kw.value for kw in _dag_call(tree).keywords}
    assert ast.literal_eval(dag["catchup"]) is True
    assert ast.literal_eval(dag["max_active_runs"]) == 1  # the lake state is incremental
    defaults = {
        k.value: v
        for k, v in zip(dag["default_args"].keys, dag["default_args"].values, strict=True)
    }
    assert ast.literal_eval(defaults["depends_on_past"]) is True
    assert ast.literal_eval(defaults["retries"]) >= 1
    assignments = {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    no_retry = ast.literal_eval(assignments["NO_RETRY"])
    assert set(no_retry) == {InputError.exit_code, GateBlocked.exit_code}
    assert PipelineError.exit_code not in no_retry  # a failed step is retried
    for flag in ('"--start"', '"--end"', '"--runner=DataflowRunner"', '"run"'):
        assert flag in source
    task_ids = re.findall(r'task_id="([a-z_]+)"', source)
    assert task_ids == ["run_window", "check_manifest"]
    compile(source, "journeyline_dag.py", "exec")


def test_the_cron_example_is_valid() -> None:
    script = DEPLOY / "cron" / "run-window.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    entries = [
        line
        for line in (DEPLOY / "cron" / "journeyline.cron").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(entries) == 1 and len(entries[0].split()[:5]) == 5
    assert "run-window.sh" in entries[0] and "--date" in script.read_text(encoding="utf-8")


def test_lake_paths_are_translated_for_dataflow_workers() -> None:
    config = replace(default_config(), lake="/home/airflow/gcs/data/lake")
    local = worker_paths(config, ["--runner=DirectRunner"])
    assert local("/home/airflow/gcs/data/lake/runs/a") == "/home/airflow/gcs/data/lake/runs/a"
    with pytest.raises(InputError, match="lake_uri"):
        worker_paths(config, ["--runner", "DataflowRunner"])
    remote = worker_paths(replace(config, lake_uri="gs://b/data/lake"), ["--runner=DataflowRunner"])
    assert (
        remote("/home/airflow/gcs/data/lake/runs/a/x.parquet")
        == "gs://b/data/lake/runs/a/x.parquet"
    )
    assert remote("gs://landing/x.jsonl") == "gs://landing/x.jsonl"


def test_a_remote_runner_packages_the_code_with_setup_py(tmp_path: Path) -> None:
    args = with_setup_file(["--runner=DataflowRunner", "--project=p"])
    assert args[-1] == f"--setup_file={ROOT / 'setup.py'}"
    assert with_setup_file(["--runner=DirectRunner"]) == ["--runner=DirectRunner"]
    given = ["--runner=DataflowRunner", "--setup_file=/x/setup.py"]
    assert with_setup_file(given) == given
    with pytest.raises(InputError, match=r"setup\.py"):
        with_setup_file(["--runner=DataflowRunner"], tmp_path / "setup.py")


def test_bigquery_loads_a_mounted_lake_straight_from_its_bucket() -> None:
    config = replace(default_config(), lake="/home/airflow/gcs/data/lake")
    folder = "/home/airflow/gcs/data/lake/runs/a/timeline"
    assert in_bucket(config, folder) == folder
    mounted = replace(config, lake_uri="gs://b/data/lake")
    assert in_bucket(mounted, folder) == "gs://b/data/lake/runs/a/timeline"
