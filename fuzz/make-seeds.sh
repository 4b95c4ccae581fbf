#!/usr/bin/env bash
# Writes the committed seed corpora, corpus/<target>/seed-*: examples/seeds.rs records what the
# conformance cases send, then libFuzzer's merge keeps, of each target's seeds, only those that
# add coverage (the rest would only slow every run down). Needs nightly and cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")"
toolchain=${FUZZ_TOOLCHAIN:-+nightly}
cargo run --release --example seeds
cargo $toolchain fuzz build -a
for target in $(cargo $toolchain fuzz list); do
    kept=$(mktemp -d) seeds=$(mktemp -d)
    # Only the seeds take part: what a fuzzing run added beside them stays out.
    cp "corpus/$target"/seed-* "$seeds"/
    "target/x86_64-unknown-linux-gnu/release/$target" -merge=1 "$kept" "$seeds" 2>/dev/null
    for seed in "corpus/$target"/seed-*; do
        [ -e "$kept/$(sha1sum "$seed" | cut -d' ' -f1)" ] || rm "$seed"
    done
    echo "corpus/$target: $(ls "corpus/$target" | grep -c '^seed-') seeds kept"
    rm -rf "$kept" "$seeds"
done
