#!/usr/bin/env bash
# Render `stance report` with headless Chromium, to look at it as a reader would:
#   target/report.html           the page, for the experiments given (default: experiments/*.toml)
#   target/report-top.png        the top of the page on screen (WINDOW, default 1000,1300)
#   target/report.pdf            the page printed (A4), and every printed page as a PNG in
#   target/report-pages/         page-N.png, to check the figures page by page
#   docs/report.png              with --docs: the screen picture, shrunk by pngquant, for the README
#
# Needs Debian's chromium, pngquant and poppler-utils (`apt-get install -y chromium pngquant
# poppler-utils`). Chromium runs with a throwaway profile and every network feature off; the
# page loads nothing anyway.
#
#   scripts/screenshot-report.sh [--docs] [EXPERIMENT.toml…]
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
docs=false
if [[ ${1:-} == --docs ]]; then
    docs=true
    shift
fi
experiments=("$@")
if [[ ${#experiments[@]} -eq 0 ]]; then
    experiments=(experiments/*.toml)
fi
for tool in chromium pngquant pdftoppm; do
    command -v "$tool" >/dev/null || {
        echo "error: $tool is missing (apt-get install -y chromium pngquant poppler-utils)" >&2
        exit 2
    }
done

cargo build --release --quiet
target/release/stance report "${experiments[@]}" --out target/report.html

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chrome() {
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars "$@" >/dev/null 2>&1
}
page="file://$root/target/report.html"

chrome --window-size="${WINDOW:-1000,1300}" --screenshot=target/report-top.png "$page"
chrome --no-pdf-header-footer --print-to-pdf=target/report.pdf "$page"
rm -rf target/report-pages
mkdir -p target/report-pages
pdftoppm -png -r "${DPI:-60}" target/report.pdf target/report-pages/page

if $docs; then
    pngquant --force --strip --quality=50-80 --speed 1 --output docs/report.png target/report-top.png
fi
echo "target/report-top.png; $(ls target/report-pages | wc -l) printed pages in target/report-pages/$($docs && echo "; docs/report.png ($(stat -c %s docs/report.png) bytes)")"
