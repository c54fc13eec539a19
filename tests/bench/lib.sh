# shellcheck shell=bash
# lib.sh - what the benchmarks in tests/bench share: the peer scripts' helpers (die, note,
# need_root, tcp_open, ...) and a release build of paaf. Sourced, never run; the script that
# sources it sets PROG (its name in messages) first.

# shellcheck source=tests/peers/lib.sh
source "${BASH_SOURCE[0]%/*}/../peers/lib.sh"

# Installs what is missing (scripts/install-deps.sh) and builds paaf in release mode into
# $CARGO_TARGET_DIR (default ~/.cache/paaf-target); sets PAAF to the binary, as cargo names it
# (a cargo wrapper may build elsewhere). PAAF_BENCH_BIN names a prebuilt binary instead. Run
# from the repository's root.
build_release_paaf() {
    note "installing dependencies (scripts/install-deps.sh)"
    scripts/install-deps.sh || die "scripts/install-deps.sh failed"
    if [[ -n ${PAAF_BENCH_BIN:-} ]]; then
        PAAF=$PAAF_BENCH_BIN
    else
        export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/paaf-target}
        note "building paaf (release) in $CARGO_TARGET_DIR"
        PAAF=$(cargo build --release -p paaf-cli --bin paaf --message-format=json-render-diagnostics |
            python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])
') || die "cargo build --release -p paaf-cli failed"
    fi
    [[ -x $PAAF ]] || die "no paaf binary at '$PAAF'"
}

# ansible-core from PyPI, pinned (the newest release for Debian 12's Python 3.11).
readonly ANSIBLE_CORE_VERSION=2.19.14

# Sets ANSIBLE to the `ansible` command (ad-hoc) of ansible-core $ANSIBLE_CORE_VERSION, in a
# venv under ${PAAF_TOOLS_DIR:-~/.cache/paaf-tools}/ansible made on first use.
ansible_venv() {
    local dir=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/ansible have
    ANSIBLE=$dir/venv/bin/ansible
    have=$("$dir/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("ansible-core"))' 2>/dev/null || true)
    if [[ ! -x $ANSIBLE || $have != "$ANSIBLE_CORE_VERSION" ]]; then
        note "installing ansible-core $ANSIBLE_CORE_VERSION in $dir/venv"
        rm -rf -- "$dir/venv"
        mkdir -p -- "$dir"
        python3 -m venv "$dir/venv" &&
            "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
                "ansible-core==$ANSIBLE_CORE_VERSION" ||
            die "pip install ansible-core==$ANSIBLE_CORE_VERSION failed"
    fi
}

# Exports the settings that make Ansible run as the benchmarks compare it: no host key
# prompts (known_hosts is checked strictly), the host's own python3, no retry files, its
# SSH control sockets under $1 (a scratch directory).
ansible_env() {
    export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
        ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_CONTROL_PATH_DIR=$1/cp \
        ANSIBLE_LOCAL_TEMP=$1/tmp ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=False
    mkdir -p -- "$1/cp" "$1/tmp"
}
