# Sourced by the benchmark scripts: a scratch directory `$work` (removed on exit), the
# repository `$root`, and `$stance`, a release build of this checkout.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
stance="$root/target/release/stance"
