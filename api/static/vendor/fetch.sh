#!/usr/bin/env bash
# Fetch the page's vendored libraries again from npm (`npm pack`) and check them against
# SHA256SUMS, so that what is committed here is byte for byte what npm publishes.
#   fetch.sh           fetch, check, and copy into place (fails on any checksum mismatch)
#   fetch.sh --check   fetch and check only; leave the files here untouched
#   fetch.sh --update  fetch and rewrite SHA256SUMS (after changing a version below)
set -euo pipefail
cd "$(dirname "$0")"

# package@version  file in the package  ->  directory here (licences are copied beside it)
FILES=(
  "vis-timeline@8.5.4 standalone/umd/vis-timeline-graph2d.min.js vis-timeline"
  "vis-timeline@8.5.4 LICENSE.md vis-timeline"
  "vis-timeline@8.5.4 LICENSE.Apache-2.0.txt vis-timeline"
  "vis-timeline@8.5.4 LICENSE.MIT.txt vis-timeline"
  "cytoscape@3.35.0 dist/cytoscape.min.js cytoscape"
  "cytoscape@3.35.0 LICENSE cytoscape"
)
mode=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for entry in "${FILES[@]}"; do
  read -r package file directory <<<"$entry"
  unpacked="$work/${package//[@\/]/_}"
  if [ ! -d "$unpacked" ]; then
    mkdir -p "$unpacked"
    tarball=$(cd "$work" && npm pack --silent "$package")
    tar -xzf "$work/$tarball" -C "$unpacked"
  fi
  mkdir -p "$work/out/$directory"
  cp "$unpacked/package/$file" "$work/out/$directory/"
done

if [ "$mode" = "--update" ]; then
  (cd "$work/out" && find . -type f | sed 's|^\./||' | sort | xargs sha256sum) > SHA256SUMS
  echo "SHA256SUMS rewritten"
else
  (cd "$work/out" && sha256sum --quiet -c "$OLDPWD/SHA256SUMS")
  echo "checksums match SHA256SUMS"
fi
if [ "$mode" != "--check" ]; then
  cp -r "$work/out/." .
  sha256sum --quiet -c SHA256SUMS
  echo "vendored files in place"
fi
