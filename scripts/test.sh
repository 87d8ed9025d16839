#!/usr/bin/env bash
# The test command: builds everything (the binary too, which the CLI tests run) and runs all tests:
# the Swift suites (the dashboard's headless-Chromium test among them), install.sh into a temporary
# root, and the deploy/ manifests and Dockerfile offline.
set -euo pipefail
cd "$(dirname "$0")/.."
# Without the index store (IDEs only), as scripts/demo.sh builds: the demo's build is reused.
swift build --build-tests --disable-index-store
swift test --skip-build --disable-xctest
scripts/test-install.sh
scripts/test-deploy.sh
