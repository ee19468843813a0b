#!/usr/bin/env bash
# build-plugins.sh DIR NAME...: builds ./plugins/cmd/vigil-plugin-NAME into
# DIR/NAME for each NAME and writes DIR/manifest.json with the SHA-256 of
# each binary. The agent starts a plugin only if its binary matches the
# manifest, so the manifest must be written by whoever installs the plugins
# (a package, this script), never by the agent itself.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
mkdir -p "$dir"
ldflags="-X github.com/vigil-rmm/vigil/internal/version.Version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
exe=""
[ "$(go env GOOS)" = windows ] && exe=.exe
entries=()
for name in "$@"; do
	go build -trimpath -ldflags "$ldflags" -o "$dir/$name$exe" "./plugins/cmd/vigil-plugin-$name"
	sum=$(sha256sum "$dir/$name$exe" | cut -d' ' -f1)
	entries+=("  \"$name\": \"$sum\"")
done
{
	echo "{"
	(IFS=$'\n'; echo "${entries[*]}" | sed '$!s/$/,/')
	echo "}"
} >"$dir/manifest.json.tmp"
mv "$dir/manifest.json.tmp" "$dir/manifest.json"
echo "plugins: ${*} -> $dir (manifest.json)"
