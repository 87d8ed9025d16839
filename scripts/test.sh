#!/usr/bin/env bash
# The test command: builds everything (the binary too, which the CLI tests run) and runs all tests:
# the Swift suites (the dashboard's headless-Chromium test among them), install.sh into a temporary
# root, and the deploy/ manifests and Dockerfile offline.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build --disable-xctest
scripts/test-install.sh
scripts/test-deploy.sh
