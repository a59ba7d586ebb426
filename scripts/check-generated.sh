#!/usr/bin/env bash
# Fails when `go tool templ generate` would change or add a *_templ.go file,
# i.e. when the committed generated code is out of step with its .templ source.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() { find . -name '*_templ.go' -not -path './.data/*' -print0 | sort -z | xargs -0 -r sha256sum; }

before=$(snapshot)
go tool templ generate >/dev/null 2>&1 || { go tool templ generate; exit 1; }
after=$(snapshot)
if [ "$before" != "$after" ]; then
	echo "templ generate changed generated files; run 'make generate' and commit them:" >&2
	diff <(echo "$before") <(echo "$after") >&2 || true
	exit 1
fi
echo "templ: generated code is up to date"
