#!/usr/bin/env bash
# Sets up a virtualenv and runs rae_tf.
#   ./run.sh                 train RAE-SN on the embedded real MNIST (CPU-sized)
#   ./run.sh test            run the test suite
#   ./run.sh train [FLAGS]   python -m rae_tf.main [FLAGS]
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV="${VENV:-.venv}"

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha"
  local want
  want=$(cat requirements.txt requirements-nodeps.txt | sha1sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r requirements.txt
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-deps -r requirements-nodeps.txt
    echo "$want" > "$stamp"
  fi
}

setup
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
case "${1:-main}" in
  test)
    shift
    exec "$VENV/bin/python" -m pytest tests -q "$@"
    ;;
  train)
    shift
    exec "$VENV/bin/python" -m rae_tf.main "$@"
    ;;
  main)
    exec "$VENV/bin/python" -m rae_tf.main --flagfile=flags/default.flags
    ;;
  *)
    echo "usage: ./run.sh [test [PYTEST_ARGS] | train [FLAGS]]" >&2
    exit 2
    ;;
esac
