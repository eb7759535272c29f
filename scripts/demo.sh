#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs the demo: example plugins are
# loaded and called, one is killed in the middle of a call, and the host
# carries on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build -j"$(nproc)"
exec ./build/tools/bulkhead demo
