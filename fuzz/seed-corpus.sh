#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (run from anywhere): the hand-written inputs of fuzz/seeds/<target>/
# (provider answers, configs, kubeconfigs…, see fuzz/seeds/SOURCES.md) and the real-world data the
# project's tests use (core/src/monitor/testdata: Grafana dashboards and frames, Prometheus and
# Alertmanager answers). Then minimize each corpus with `cargo +nightly fuzz cmin TARGET`.
set -euo pipefail
cd "$(dirname "$0")"
testdata=../core/src/monitor/testdata

add() {
    local target=$1
    shift
    mkdir -p "corpus/$target"
    cp "$@" "corpus/$target/"
}

for dir in seeds/*/; do
    add "$(basename "$dir")" "$dir"*
done
add ds_query "$testdata"/plugin-sdk-*.json
add dashboard "$testdata"/dotdc-k8s-views-nodes.json "$testdata"/kubernetes-mixin-*.json
add prometheus_query "$testdata"/prometheus-*.json
