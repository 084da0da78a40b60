#!/usr/bin/env bash
# What `make test-engines` needs outside Python: PostgreSQL's server binaries (initdb, pg_ctl)
# and a Java runtime for Spark. Installed from Debian's packages when missing (needs root).
set -euo pipefail

need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    need+=(postgresql)
fi
if ! command -v java >/dev/null 2>&1; then
    need+=(openjdk-17-jre-headless)
fi
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: make test-engines needs ${need[*]}; install them (sudo apt-get install ${need[*]}) and retry" >&2
    exit 2
fi
echo "==> installing ${need[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's postgresql package starts a system cluster; the tests run their own throwaway one.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _; do
        pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    done
fi
