# Sourced by the benchmark scripts: a scratch directory `$work` (removed on exit unless
# KEEP_WORK=1, e.g. to profile a run on the same store), the repository `$root`, and `$stance`,
# a release build of this checkout.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
if [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "scratch directory kept: $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

# STANCE_BIN: time that binary instead (one already built, e.g. while the checkout moves on).
if [ -n "${STANCE_BIN:-}" ]; then
    stance=$STANCE_BIN
else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    stance="$root/target/release/stance"
fi
