#!/usr/bin/env bash
# Vendors Leaflet.VectorGrid (Beerware; it bundles pbf, vector-tile, point-geometry, ieee754,
# geojson-vt, topojson-client and whatwg-fetch) into the console's embedded assets from npm, at a
# pinned version checked against its tarball's SHA-256, so the map draws Mapbox Vector Tiles with no
# script from a CDN. The package ships its licence in its README only: LICENSE beside the script is
# that notice followed by the licences of the bundled packages, each from its own npm tarball at the
# version VectorGrid 1.3.0's bundle was built against.
set -euo pipefail
VERSION=1.3.0
SHA256=4eaf00b9c3c80e53d59a84a9d3523f1b9ae3149e709db6fa293e9c292739ed7e
BUNDLED="pbf@3.0.5:LICENSE vector-tile@1.3.0:LICENSE.txt ieee754@1.1.8:LICENSE geojson-vt@2.2.0:LICENSE topojson-client@2.1.0:LICENSE.md whatwg-fetch@2.0.3:LICENSE"
dest=$(cd "$(dirname "$0")/.." && pwd)/api/web/assets/leaflet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "leaflet.vectorgrid@$VERSION" >/dev/null
echo "$SHA256  leaflet.vectorgrid-$VERSION.tgz" | sha256sum -c --quiet
tar -xzf "leaflet.vectorgrid-$VERSION.tgz"
mkdir -p "$dest"
cp package/dist/Leaflet.VectorGrid.bundled.min.js "$dest/vectorgrid.js"
{
	echo "Leaflet.VectorGrid $VERSION (https://github.com/IvanSanchez/Leaflet.VectorGrid), from its README:"
	echo
	sed -n '/^"THE BEER-WARE LICENSE":/,/^---/p' package/README.md
	echo
	echo "vectorgrid.js is VectorGrid's bundled build, which includes the packages below under their own licences."
	echo "point-geometry 0.0.0 (Mapbox) is under the ISC licence (its package.json; its tarball has no licence file)."
	for p in $BUNDLED; do
		pkg=${p%%:*} file=${p#*:}
		rm -rf package
		npm pack --silent "$pkg" >/dev/null
		tar -xzf "${pkg%@*}-${pkg#*@}.tgz"
		echo
		echo "==== $pkg ($file) ===="
		cat "package/$file"
	done
} >"$dest/vectorgrid.LICENSE"
echo "leaflet.vectorgrid $VERSION vendored into $dest"
