#!/usr/bin/env bash
# The test command: builds everything (the binary too, which the CLI tests run) and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build --disable-xctest
