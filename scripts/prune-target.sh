#!/usr/bin/env bash
# Keeps the shared cargo target directory ($CARGO_TARGET_DIR, which outlives clones and CI runs)
# from filling the disk: every change to a workspace crate leaves a new hash-named copy of each
# test binary and library behind, and cargo never removes the old ones.
#   1. incremental compilation caches are dropped (test.sh builds with CARGO_INCREMENTAL=0);
#   2. of the hash-named artifacts of paaf's own crates and tests, the two newest per name stay;
#   3. if the disk still has less than PAAF_MIN_FREE_GB (default 20) free, the debug build is
#      removed whole and rebuilt by the next step.
# Third-party artifacts are left alone: they do not change between runs.
set -euo pipefail
target="${CARGO_TARGET_DIR:?CARGO_TARGET_DIR must be set}"
min_free_gb="${PAAF_MIN_FREE_GB:-20}"
[ -d "$target" ] || exit 0

free_gb() { df -P -BG "$target" | awk 'NR==2 { sub("G", "", $4); print $4 }'; }
before="$(free_gb)"

find "$target" -maxdepth 3 -type d -name incremental -prune -exec rm -rf {} +

# Names of our own crates and test targets: paaf_* plus every file under */tests/*.rs.
own_names="$(
  {
    printf '%s\n' paaf_core paaf_cli paaf_desktop paaf_mobile paaf_tests paaf_uniffi_bindgen paaf uniffi_bindgen
    for test in core/tests/*.rs tests/tests/*.rs; do
      [ -f "$test" ] && basename "$test" .rs
    done
  } | sort -u
)"

for deps in "$target"/*/deps "$target"/*/*/deps; do
  [ -d "$deps" ] || continue
  while read -r name; do
    # Test binaries NAME-HASH (with their dep-info NAME-HASH.d), libraries libNAME-HASH.{rlib,rmeta}
    for pattern in "$name-????????????????" "lib$name-????????????????.rlib" "lib$name-????????????????.rmeta"; do
      # shellcheck disable=SC2012 # names are cargo's own: no spaces or newlines
      { ls -t "$deps"/$pattern 2>/dev/null || true; } | tail -n +3 | while read -r stale; do
        rm -f "$stale" "$stale.d"
      done
    done
  done <<<"$own_names"
done

if [ "$(free_gb)" -lt "$min_free_gb" ]; then
  echo "prune-target: less than ${min_free_gb} GB free after pruning; removing $target/debug (it is rebuilt)" >&2
  rm -rf "$target/debug"
fi
echo "prune-target: ${before} GB free before, $(free_gb) GB after"
