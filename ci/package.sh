#!/usr/bin/env bash
# Ready to publish: each publishable crate (tollgate, tollgate-client,
# tollgate-redis, tollgate-reqwest, tollgate-tower) as crates.io would get
# it, on its declared rust-version, and in every combination of its
# features.
#
# 1. `cargo package` of the crates together. None is on crates.io yet, so
#    cargo packages them in one run and builds each from its own .crate
#    against the others' (a local registry). Each package must hold the
#    licenses, the README and the library, and nothing outside its
#    `include` list's kinds of file; the examples it ships are built from
#    the packages as well.
# 2. cargo-hack: every combination of each crate's features
#    (`--feature-powerset`), on stable, without dev-dependencies (which a
#    user's build never sees).
# 3. `cargo check` of each crate on its `rust-version` (and
#    tollgate-tower's `redis` feature on tollgate-redis's), installed with
#    rustup, without dev-dependencies, with a lockfile resolved for the
#    oldest of them (CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback).
#
#    Steps 2 and 3 run in a copy of the workspace under target/: both take
#    the dev-dependencies out of the manifests, and the repository's
#    Cargo.lock keeps the latest versions.
# 4. The docs as docs.rs builds them: nightly, each crate's
#    [package.metadata.docs.rs] features and rustdoc-args (`--cfg
#    docsrs`), with warnings as errors.
#
# Installs the toolchains (minimal profile) and cargo-hack when missing;
# reads the manifests with python3. Every step shares target/ with the
# other scripts.
#
#   PACKAGE_STEPS   which steps to run (default "package features msrv docs")
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

crates=(tollgate tollgate-client tollgate-redis tollgate-reqwest tollgate-tower)
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
steps="${PACKAGE_STEPS:-package features msrv docs}"

# One field of one crate's manifest, from `cargo metadata`: `rust_version`,
# `version`, `dir` (its directory, relative to the root), or `docs_rs`
# (the cargo flags and RUSTDOCFLAGS docs.rs uses, one per line).
manifest() {
    cargo metadata --no-deps --format-version 1 --manifest-path "$root/Cargo.toml" |
        python3 -c '
import json, os, sys
crate, field = sys.argv[1], sys.argv[2]
pkg = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == crate)
if field == "docs_rs":
    meta = (pkg.get("metadata") or {}).get("docs", {}).get("rs", {})
    flags = ["--all-features"] if meta.get("all-features") else []
    if meta.get("features"):
        flags.append("--features=" + ",".join(meta["features"]))
    print(" ".join(flags))
    print(" ".join(meta.get("rustdoc-args", [])))
elif field == "dir":
    print(os.path.relpath(os.path.dirname(pkg["manifest_path"]), sys.argv[3]))
else:
    print(pkg[field])
' "$1" "$2" "$root"
}

toolchain() {
    if ! cargo "+$1" --version >/dev/null 2>&1; then
        rustup toolchain install "$1" --profile minimal
    fi
}

package() {
    local flags=() crate list unexpected
    for crate in "${crates[@]}"; do flags+=(-p "$crate"); done
    # --allow-dirty: a developer checks the working tree as it is; CI's is
    # a clean checkout.
    cargo package --locked --allow-dirty "${flags[@]}"

    for crate in "${crates[@]}"; do
        list=$(cargo package --list --allow-dirty -p "$crate" 2>/dev/null)
        for file in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
            if ! grep -qx "$file" <<<"$list"; then
                echo "package: $crate lacks $file" >&2
                exit 1
            fi
        done
        unexpected=$(grep -vxE 'src/.*\.rs|examples/[a-z_]+\.rs|README\.md|CHANGELOG\.md|LICENSE-(MIT|APACHE)|Cargo\.(toml|toml\.orig|lock)|\.cargo_vcs_info\.json' <<<"$list" || true)
        if [ -n "$unexpected" ]; then
            echo "package: $crate ships files a user does not need:" >&2
            echo "$unexpected" >&2
            exit 1
        fi
        echo "package: $crate: $(wc -l <<<"$list") files"
    done

    # The shipped examples, built from the unpacked packages (outside the
    # workspace), each crate of the workspace taken from its package.
    local patches dep dir
    for crate in "${crates[@]}"; do
        tar -xzf "$CARGO_TARGET_DIR/package/$crate-$(manifest "$crate" version).crate" -C "$unpacked"
    done
    for crate in "${crates[@]}"; do
        dir="$unpacked/$crate-$(manifest "$crate" version)"
        [ -d "$dir/examples" ] || continue
        patches=()
        for dep in "${crates[@]}"; do
            if grep -q "^\[dependencies\.$dep\]" "$dir/Cargo.toml"; then
                patches+=(--config "patch.crates-io.$dep.path='$unpacked/$dep-$(manifest "$dep" version)'")
            fi
        done
        echo "package: $crate's examples, from its package"
        cargo check --examples "${patches[@]}" --manifest-path "$dir/Cargo.toml"
    done
}

# The working tree's files, without the fuzz crate (its own workspace).
copy=$CARGO_TARGET_DIR/ci-package/workspace
make_copy() {
    rm -rf "$copy"
    mkdir -p "$copy"
    git ls-files -z --cached --others --exclude-standard -- . ':!fuzz' |
        tar --null -T - -cf - | tar -xf - -C "$copy"
}

hack() {
    if ! cargo hack --version >/dev/null 2>&1; then
        cargo install cargo-hack --locked
    fi
}

features() {
    hack
    local flags=() crate
    for crate in "${crates[@]}"; do flags+=(-p "$crate"); done
    (cd "$copy" && cargo hack check --feature-powerset --no-dev-deps "${flags[@]}")
}

# Makes the copy a user's view of the publishable crates: a workspace of
# those alone (the bench and test-support crates are not published), with
# no dev-dependency tables, since a user's build of a crate never resolves
# them and an old cargo must not meet them (they bring crates of edition
# 2024, which cargo reads from 1.85 on).
user_view() {
    local crate dirs=()
    for crate in "${crates[@]}"; do dirs+=("$(manifest "$crate" dir)"); done
    find "$copy" -name Cargo.toml -print0 |
        xargs -0 python3 -c '
import re, sys
members, paths = sys.argv[1], sys.argv[2:]
for path in paths:
    out, skip = [], False
    for line in open(path).read().splitlines(keepends=True):
        if line.startswith("["):
            skip = re.match(r"\[(target\..*\.)?dev-dependencies\]", line) is not None
        if re.match(r"(default-)?members = \[", line):
            line = line.split("=")[0] + "= " + members + "\n"
        if not skip:
            out.append(line)
    open(path, "w").write("".join(out))
' "[$(printf '"%s", ' "${dirs[@]}" | sed 's/, $//')]"
}

check_on() {
    local version=$1
    shift
    toolchain "$version"
    echo "msrv: $* on $version"
    (cd "$copy" && cargo "+$version" check --locked "$@")
}

msrv() {
    user_view
    (cd "$copy" && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile)
    # Default features, the crates of one rust-version in one run (their
    # dependencies are built once per toolchain).
    local -A group=()
    local crate version
    for crate in "${crates[@]}"; do
        version=$(manifest "$crate" rust_version)
        group[$version]+=" -p $crate"
    done
    for version in $(printf '%s\n' "${!group[@]}" | sort -V); do
        # shellcheck disable=SC2086 # -p flags are words
        check_on "$version" ${group[$version]}
    done
    # tollgate-tower's `redis` feature brings tollgate-redis's rust-version.
    check_on "$(manifest tollgate-redis rust_version)" -p tollgate-redis -p tollgate-tower --all-features
}

docs() {
    toolchain nightly
    local crate flags rustdoc
    for crate in "${crates[@]}"; do
        { read -r flags; read -r rustdoc; } < <(manifest "$crate" docs_rs)
        echo "docs: $crate $flags, RUSTDOCFLAGS=$rustdoc"
        # shellcheck disable=SC2086 # flags are words
        RUSTDOCFLAGS="-D warnings $rustdoc" cargo +nightly doc --no-deps -p "$crate" $flags
    done
}

for step in $steps; do
    start=$(date +%s)
    case $step in
        package) package ;;
        features) make_copy; features ;;
        msrv) make_copy; msrv ;;
        docs) docs ;;
        *) echo "unknown step $step" >&2; exit 2 ;;
    esac
    echo "ci/package.sh: $step in $(( $(date +%s) - start )) s"
done
