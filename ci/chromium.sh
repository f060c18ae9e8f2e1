#!/usr/bin/env bash
# Installs Chromium (Debian's package) when it is missing. The tower
# layer's browser test (integrations/tower/tests/browser/) runs it
# headless against servers of its own on loopback ports. Without it that
# test skips with a message, except under CI (CI=1 or CI=true), where it
# fails.
set -euo pipefail
if ! command -v chromium >/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
chromium --version
