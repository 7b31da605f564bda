#!/usr/bin/env bash
# The project's one test command: bash scripts/test.sh [pytest arguments]
#
# Makes sure the real services the tests talk to exist and run (Dovecot, Chromium and its driver,
# PostgreSQL, Redis), makes sure .venv holds this checkout, then runs pytest and exits with its
# status. Safe to run again and again: nothing is installed or started twice.
#
# Installing Debian packages and starting PostgreSQL needs root (CI runs as root). On a developer
# machine without root, install the packages yourself; the script then only starts what is down.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { printf 'test.sh: error: %s\n' "$*" >&2; exit 1; }

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for_port() {
    local host="$1" port="$2" what="$3" i
    for i in $(seq 1 60); do
        port_open "$host" "$port" && return 0
        sleep 0.5
    done
    die "$what did not start listening on $host:$port"
}

# --- 1. Debian packages (only those whose program is missing) ------------------------------------
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && command -v pg_ctlcluster >/dev/null; }

missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
have_postgres || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)

installed_postgres=no
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (install them, or run as root)"
    log "installing ${missing[*]}"
    # Keep package scripts from starting system-wide daemons (there may be no init system); the
    # tests start private instances, and PostgreSQL/Redis are started below.
    policy_created=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        policy_created=yes
    fi
    apt_status=0
    {
        apt-get update -qq &&
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    } || apt_status=$?
    if [ "$policy_created" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
    [ "$apt_status" = 0 ] || die "apt-get failed installing ${missing[*]}"
    case " ${missing[*]} " in *" postgresql "*) installed_postgres=yes ;; esac
fi

# --- 2. PostgreSQL -------------------------------------------------------------------------------
pg_can_login() {
    psql "host=$PG_HOST port=$PG_PORT user=postgres dbname=postgres connect_timeout=3" \
        -qAtc 'select 1' >/dev/null 2>&1 </dev/null
}

if ! port_open "$PG_HOST" "$PG_PORT"; then
    [ -d /etc/postgresql ] || die "PostgreSQL is not configured (no /etc/postgresql)"
    pg_version="$(ls /etc/postgresql | sort -V | tail -n1)"
    log "starting PostgreSQL $pg_version"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start ||
        die "could not start PostgreSQL $pg_version/main"
    wait_for_port "$PG_HOST" "$PG_PORT" PostgreSQL
fi

# (Without psql, e.g. PostgreSQL provided by another host, the pg_url fixture reports any problem.)
if command -v psql >/dev/null && ! pg_can_login; then
    # A fresh Debian cluster asks for a password over TCP. The tests connect as postgres without
    # one, so on CI (or when this script just installed PostgreSQL) trust local TCP connections.
    hba="$(compgen -G '/etc/postgresql/*/main/pg_hba.conf' | sort -V | tail -n1 || true)"
    if [ -n "$hba" ] && [ "$(id -u)" = 0 ] &&
        { [ "${CI:-}" = true ] || [ "$installed_postgres" = yes ]; }; then
        log "allowing passwordless TCP login for postgres from localhost in $hba"
        tmp="$(mktemp)"
        {
            echo "# added by complaints scripts/test.sh: tests log in without a password"
            echo "host all postgres 127.0.0.1/32 trust"
            echo "host all postgres ::1/128 trust"
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba"
        rm -f "$tmp"
        pg_version="$(basename "$(dirname "$(dirname "$hba")")")"
        pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
        sleep 1
    fi
    pg_can_login || die "cannot log in to PostgreSQL at $PG_HOST:$PG_PORT as postgres without a \
password; add 'host all postgres 127.0.0.1/32 trust' to pg_hba.conf"
fi

# --- 3. Redis ------------------------------------------------------------------------------------
if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no >/dev/null
    wait_for_port "$REDIS_HOST" "$REDIS_PORT" Redis
fi

# --- 4. Python environment -----------------------------------------------------------------------
# shellcheck source=scripts/_venv.sh
source "$ROOT/scripts/_venv.sh"
ensure_venv "$ROOT"

# --- 5. The tests --------------------------------------------------------------------------------
status=0
"$ROOT/.venv/bin/pytest" "$@" || status=$?
exit "$status"
