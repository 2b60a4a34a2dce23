#!/usr/bin/env bash
# Re-create journeyline/quality/vendor/: the CSS, JS and fonts that Great Expectations
# Data Docs load from CDNs, taken from the npm registry at the versions GX 1.24 asks for.
# journeyline rewrites the Data Docs pages to these local copies so they render offline
# (journeyline/quality/data_docs.py). Needs npm; run from the repository root.
set -euo pipefail
out=journeyline/quality/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() {  # fetch PACKAGE@VERSION -> $work/<name>/package
  local dir="$work/${1//[@\/]/_}"
  mkdir -p "$dir"
  (cd "$dir" && npm pack "$1" --silent >/dev/null && tar xzf ./*.tgz)
  echo "$dir/package"
}
rm -rf "$out" && mkdir -p "$out/css" "$out/js" "$out/webfonts" "$out/licenses"
bs=$(fetch bootstrap@4.3.1)
jq=$(fetch jquery@3.7.1)
pop=$(fetch popper.js@1.12.9)
bt=$(fetch bootstrap-table@1.19.1)
fa=$(fetch @fortawesome/fontawesome-free@6.6.0)
dp=$(fetch bootstrap-datepicker@1.9.0)
cp "$bs/dist/css/bootstrap.min.css" "$out/css/"
cp "$bs/dist/js/bootstrap.min.js" "$out/js/"
cp "$jq/dist/jquery.min.js" "$out/js/"
cp "$pop/dist/umd/popper.min.js" "$out/js/"
cp "$bt/dist/bootstrap-table.min.css" "$bt/dist/extensions/filter-control/bootstrap-table-filter-control.min.css" "$out/css/"
cp "$bt/dist/bootstrap-table.min.js" "$bt/dist/extensions/filter-control/bootstrap-table-filter-control.min.js" "$out/js/"
cp "$dp/dist/css/bootstrap-datepicker.min.css" "$out/css/"
cp "$dp/dist/js/bootstrap-datepicker.min.js" "$out/js/"
cp "$fa/css/all.min.css" "$out/css/fontawesome.min.css"
cp "$fa"/webfonts/*.woff2 "$out/webfonts/"
cp "$bs/LICENSE" "$out/licenses/bootstrap.txt"
cp "$jq/LICENSE.txt" "$out/licenses/jquery.txt"
cp "$pop/LICENSE.md" "$out/licenses/popper.txt" 2>/dev/null || echo "popper.js 1.12.9: MIT License (see its npm package)" > "$out/licenses/popper.txt"
cp "$bt/LICENSE" "$out/licenses/bootstrap-table.txt"
cp "$fa/LICENSE.txt" "$out/licenses/fontawesome.txt"
cp "$dp/LICENSE" "$out/licenses/bootstrap-datepicker.txt"
# No source maps: a browser would ask for files that are not here.
sed -i '/sourceMappingURL=/d' "$out"/css/*.css "$out"/js/*.js
du -sh "$out"
