#!/usr/bin/env bash
# Refreshes the vendored front-end files in static/vendor from their npm packages.
# Versions are pinned here; the files are committed, so builds never need npm.
set -euo pipefail

HTMX_VERSION=2.0.11
PICO_VERSION=2.1.1

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" "@picocss/pico@$PICO_VERSION" >/dev/null
mkdir -p htmx pico "$dest"
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar -xzf "picocss-pico-$PICO_VERSION.tgz" -C pico

cp htmx/package/dist/htmx.min.js "$dest/htmx.min.js"
cp pico/package/css/pico.classless.min.css "$dest/pico.classless.min.css"
cp htmx/package/LICENSE "$dest/htmx.LICENSE"
cp pico/package/LICENSE.md "$dest/pico.LICENSE.md"
printf 'htmx.org %s\n@picocss/pico %s\n' "$HTMX_VERSION" "$PICO_VERSION" >"$dest/VERSIONS"
echo "vendored htmx $HTMX_VERSION and pico $PICO_VERSION into static/vendor" >&2
