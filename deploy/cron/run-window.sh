#!/usr/bin/env bash
# Run journeyline for one day's window and turn its exit code into what cron should do.
#   run-window.sh 2025-03-07
# Exit codes: 0 published (or nothing landed) · 2 configuration/input · 3 blocked by a
# quality gate · 4 a step failed (retried here once) · 1 internal error.
set -uo pipefail
day="${1:?usage: run-window.sh YYYY-MM-DD}"
home="${JOURNEYLINE_HOME:-/opt/journeyline}"
env_file="${JOURNEYLINE_ENV_FILE:-/etc/journeyline/env}"   # JOURNEYLINE_HASH_KEY=… (mode 600)
# shellcheck disable=SC1090
[ -r "$env_file" ] && set -a && . "$env_file" && set +a

run() {
  "$home/.venv/bin/journeyline" run --config "$home/journeyline.yml" --date "$day" --quiet
}

run
code=$?
if [ "$code" -eq 4 ]; then            # a step failed: transient more often than not
  sleep 600
  run
  code=$?
fi
case "$code" in
  0) echo "journeyline $day: published" ;;
  3) echo "journeyline $day: BLOCKED by a quality gate; published tables unchanged" >&2 ;;
  2) echo "journeyline $day: configuration or input error" >&2 ;;
  *) echo "journeyline $day: failed with exit code $code" >&2 ;;
esac
exit "$code"
