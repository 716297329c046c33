#!/usr/bin/env bash
# Runs weir's whole test suite with the Deno that scripts/setup.sh installed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deno="$here/.tools/bin/deno"
[ -x "$deno" ] || { echo "test: Deno is not installed in .tools/; run: bash scripts/setup.sh" >&2; exit 1; }
cd "$here"
"$deno" task check
exec "$deno" task test "$@"
