#!/usr/bin/env bash
# Sets up everything the tests need and runs the whole suite, browser tests included.
#   bash scripts/test.sh [pytest arguments]
# Installs the Python requirements (requirements-dev.txt) and Debian's chromium when it is missing,
# checks the code with ruff, then runs pytest. The data folder defaults to ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# The distributed-training tests run Keras on JAX (CPU), an optional dependency of the app.
python -m pip install --quiet --disable-pip-version-check -r requirements-distributed.txt

if ! command -v chromium >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests..."
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export DOODLE_DATA_DIR="${DOODLE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
# Models the tests train go to a throw-away registry, never to the user's own.
export DOODLE_MODELS_DIR="${DOODLE_MODELS_DIR:-$(mktemp -d -t doodle-models-XXXXXX)}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

python -m ruff check --no-cache .
python -m pytest "$@"
