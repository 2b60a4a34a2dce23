"""Airflow DAG: journeyline's daily batch run, one data interval per DAG run.

Each DAG run processes its data interval as a journeyline *window*
(``--start {{ data_interval_start }} --end {{ data_interval_end }}``): the input files
that landed in it. Clearing a DAG run re-runs its window (retract and recompute, identical
tables for unchanged files); ``airflow dags backfill`` runs old windows in order.

Tasks:
  run_window      `journeyline run` for the window: Beam on Dataflow → lake attempt →
                  BigQuery load → dbt-bigquery → quality gates → publish. Exit codes decide:
                  0 published · 2 configuration/input (no retry) · 3 blocked by a quality
                  gate (no retry: a person must look) · 4 a step failed · 1 internal (retried).
  check_manifest  reads the run's JSON manifest (status, counts, checks) into XCom and fails
                  unless the window was published or had no input.

Windows must run one at a time and in order: the lake state is incremental.
Deployment: deploy/README.md (image, lake on the Composer bucket, IAM, the hash key).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.operators.python import PythonOperator

# Settings come from the environment of the Airflow workers (Composer environment variables).
CONFIG = os.environ.get("JOURNEYLINE_CONFIG", "/home/airflow/gcs/data/journeyline/journeyline.yml")
LAKE = os.environ.get("JOURNEYLINE_LAKE", "/home/airflow/gcs/data/journeyline/lake")
PROJECT = os.environ.get("JOURNEYLINE_PROJECT", "acme-prod")
REGION = os.environ.get("JOURNEYLINE_REGION", "europe-west1")
TEMP = os.environ.get("JOURNEYLINE_TEMP_LOCATION", "gs://acme-journeyline-dataflow/tmp")
SERVICE_ACCOUNT = os.environ.get(
    "JOURNEYLINE_SERVICE_ACCOUNT", f"journeyline-dataflow@{PROJECT}.iam.gserviceaccount.com"
)

NO_RETRY = {2: "configuration or input error", 3: "blocked by a quality gate"}


def run_window(data_interval_start: datetime, data_interval_end: datetime, **_: object) -> str:
    """`journeyline run` for the interval; its exit code decides retry or not."""
    command = [
        "journeyline",
        "run",
        "--config",
        CONFIG,
        "--lake",
        LAKE,
        "--quiet",
        "--start",
        data_interval_start.date().isoformat(),
        "--end",
        data_interval_end.date().isoformat(),
        "--runner=DataflowRunner",
        f"--project={PROJECT}",
        f"--region={REGION}",
        f"--temp_location={TEMP}",
        f"--service_account_email={SERVICE_ACCOUNT}",
        "--setup_file=/opt/journeyline/setup.py",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    print(done.stdout)
    print(done.stderr)
    if done.returncode == 0:
        return done.stdout
    if done.returncode in NO_RETRY:
        raise AirflowFailException(
            f"journeyline: {NO_RETRY[done.returncode]}: {done.stderr[-2000:]}"
        )
    raise AirflowException(f"journeyline exited {done.returncode}: {done.stderr[-2000:]}")


def check_manifest(ti: object, **_: object) -> dict:
    """The run's manifest (its path is on the summary's last line) as the task's result."""
    out = ti.xcom_pull(task_ids="run_window") or ""  # type: ignore[attr-defined]
    lines = [line for line in out.splitlines() if line.startswith("manifest:")]
    if not lines:
        if "nothing to do" in out:
            return {"status": "empty"}
        raise AirflowFailException("journeyline printed no manifest")
    manifest = json.loads(Path(lines[-1].split(":", 1)[1].strip()).read_text(encoding="utf-8"))
    if manifest["status"] != "published":
        raise AirflowFailException(f"window not published: {manifest['status']}")
    return {k: manifest[k] for k in ("run_id", "status", "counts", "window", "published_attempt")}


with DAG(
    dag_id="journeyline_daily",
    description="journeyline batch run per daily data interval (windows, write-audit-publish)",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=True,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "depends_on_past": True,
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=3),
    },
    tags=["journeyline"],
) as dag:
    run = PythonOperator(task_id="run_window", python_callable=run_window)
    check = PythonOperator(task_id="check_manifest", python_callable=check_manifest, retries=0)
    run >> check
