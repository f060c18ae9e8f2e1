#!/usr/bin/env bash
# Installs redis-server (Debian's package, with redis-cli) when it is
# missing. The Redis limiter's tests, the fleet's end-to-end test, the
# fleet demo and the Redis bench start servers of their own from it, on
# free loopback ports with persistence off. Without it those tests skip
# with a message, except under CI (CI=1 or CI=true), where they fail.
set -euo pipefail
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server
fi
redis-server --version
