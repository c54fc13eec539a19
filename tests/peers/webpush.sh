#!/usr/bin/env bash
# webpush.sh - the independent checks of the relay's push tests: Web Push decryption and ES256
# (VAPID, APNs) signature verification with PyPI http-ece and cryptography (pinned below) in a
# venv, running webpush_check.py beside this script.
#
# Used by the Rust integration tests and CI. Quiet on success; errors go to stderr with a
# non-zero exit status. setup must run as root (it may install Debian's python3-venv).

set -uo pipefail

readonly PROG=webpush.sh
readonly HTTP_ECE_VERSION=1.2.1
readonly CRYPTOGRAPHY_VERSION=46.0.3
readonly TOOLS_DIR=${PAAF_TOOLS_DIR:-$HOME/.cache/paaf-tools}/http-ece
readonly PYTHON=$TOOLS_DIR/venv/bin/python
readonly SETUP_LOCK=/run/paaf-webpush-setup.lock

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF
readonly CHECK=${SELF%/*}/webpush_check.py
# shellcheck source=tests/peers/lib.sh
source "${SELF%/*}/lib.sh"

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS]

Web Push decryption with http-ece $HTTP_ECE_VERSION and ES256 verification with
cryptography $CRYPTOGRAPHY_VERSION (PyPI).

Commands:
  setup            Install what is missing: python3 with venv (Debian), and
                   http-ece==$HTTP_ECE_VERSION, cryptography==$CRYPTOGRAPHY_VERSION in a
                   venv under $TOOLS_DIR (reinstalled only when a pinned version changes).
  decrypt KEY_PEM AUTH BODY
                   Print the plaintext of the aes128gcm body in file BODY, sent to the
                   subscription whose private key is KEY_PEM and auth secret AUTH (base64url).
  verify-jwt PUBLIC_KEY_PEM JWT
                   Print "valid" when JWT's ES256 signature verifies with the public key.
  -h, --help       This help.
EOF
}

installed_versions() {
    "$PYTHON" -c 'import importlib.metadata as m; print(m.version("http-ece"), m.version("cryptography"))' 2>/dev/null
}

cmd_setup() {
    (($# == 0)) || die "usage: $PROG setup"
    [[ $(installed_versions) == "$HTTP_ECE_VERSION $CRYPTOGRAPHY_VERSION" ]] && return 0
    need_root
    lock_setup "$SETUP_LOCK"
    need_python_venv || exit 1
    [[ $(installed_versions) == "$HTTP_ECE_VERSION $CRYPTOGRAPHY_VERSION" ]] && return 0
    pip_venv "$TOOLS_DIR" "http-ece==$HTTP_ECE_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION" ||
        exit 1
}

run_check() {
    [[ -x $PYTHON ]] || die "http-ece is not installed: run $PROG setup (as root)"
    exec "$PYTHON" "$CHECK" "$@"
}

cmd_decrypt() {
    (($# == 3)) || die "usage: $PROG decrypt KEY_PEM AUTH BODY"
    run_check decrypt "$@"
}

cmd_verify_jwt() {
    (($# == 2)) || die "usage: $PROG verify-jwt PUBLIC_KEY_PEM JWT"
    run_check verify-jwt "$@"
}

dispatch "$@"
