#!/usr/bin/env bash
# Creates (or reuses) the virtual environment of the extrawest-ocpi interop peer
# (tests/interop/peer) and prints the path of its python on stdout; progress goes to stderr.
#
#   tests/interop/setup-venv.sh [VENV_DIR]      default VENV_DIR: target/interop-venv
#
# The environment is reused while it imports and was built from the current
# requirements.txt. Python: $ROAMBRIDGE_PYTHON or python3, at least 3.10 (extrawest-ocpi's
# floor). Creating the environment tries, in order: the standard library's venv (needs
# ensurepip, which Debian and Ubuntu ship separately in python3-venv); virtualenv (brings
# its own pip; installed with `pip install --user` when pip is there); and, as root on
# Debian/Ubuntu, apt-get install of python3.X-venv followed by venv again.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
requirements="$here/peer/requirements.txt"
venv="${1:-target/interop-venv}"
python="${ROAMBRIDGE_PYTHON:-python3}"
stamp="$venv/.roambridge-requirements"

log() { echo "interop venv: $*" >&2; }

venv_python() { echo "$(cd "$venv" && pwd)/bin/python"; }

if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp" \
  && "$venv/bin/python" -c 'import py_ocpi, uvicorn' >/dev/null 2>&1; then
  log "reusing $venv"
  venv_python
  exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
  log "no $python on PATH (set ROAMBRIDGE_PYTHON)"
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  log "$python is $("$python" --version 2>&1); extrawest-ocpi needs Python 3.10 or later"
  exit 1
fi

with_venv() {
  "$python" -m venv "$venv" >&2
}

with_virtualenv() {
  if ! "$python" -m virtualenv --version >/dev/null 2>&1; then
    "$python" -m pip --version >/dev/null 2>&1 || return 1
    # Debian's Python refuses user installs without this (PEP 668); older pips ignore it.
    PIP_BREAK_SYSTEM_PACKAGES=1 "$python" -m pip install --user --quiet \
      --disable-pip-version-check virtualenv >&2 || return 1
  fi
  "$python" -m virtualenv --quiet "$venv" >&2
}

with_apt() {
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 1
  local version
  version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" >&2 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2 || return 1
  with_venv
}

rm -rf "$venv"
created=""
for method in with_venv with_virtualenv with_apt; do
  if "$method"; then
    created="$method"
    break
  fi
  log "${method#with_} could not create $venv"
  rm -rf "$venv"
done
if [ -z "$created" ]; then
  log "no way to create a virtual environment with $python"
  exit 1
fi
log "created $venv (${created#with_})"

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
cp "$requirements" "$stamp"
venv_python
