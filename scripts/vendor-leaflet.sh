#!/usr/bin/env bash
# Vendors Leaflet (BSD-2-Clause) into the console's embedded assets from npm, at a pinned version
# checked against its tarball's SHA-256: the console loads no script or style from a CDN at run time.
set -euo pipefail
VERSION=1.9.4
SHA256=84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77
dest=$(cd "$(dirname "$0")/.." && pwd)/api/web/assets/leaflet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$VERSION" >/dev/null)
echo "$SHA256  $tmp/leaflet-$VERSION.tgz" | sha256sum -c --quiet
tar -xzf "$tmp/leaflet-$VERSION.tgz" -C "$tmp"
mkdir -p "$dest"
cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$dest/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "leaflet $VERSION vendored into $dest"
