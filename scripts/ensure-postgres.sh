#!/usr/bin/env bash
# ensure-postgres.sh [DBNAME]
#
# Make sure a PostgreSQL is reachable and print exactly one line on stdout: a
# lib/pq URL for DBNAME (default "adpilot"). Everything else goes to stderr.
#
#   1. DATABASE_URL set: print it (with its database replaced by DBNAME when
#      DBNAME is given explicitly, e.g. `ensure-postgres.sh postgres` for an
#      admin URL). It is the user's choice, so it is not probed.
#   2. Shared server ${ADPILOT_PG_HOST:-127.0.0.1}:${ADPILOT_PG_PORT:-5432}
#      (user postgres, trust auth) answers: create DBNAME if missing.
#   3. Otherwise run a private server from .data/pg in the repository on
#      127.0.0.1:${ADPILOT_PRIVATE_PG_PORT:-54329} (initdb/start as needed).
set -euo pipefail

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

(($# <= 1)) || die "usage: $0 [DBNAME]"
if (($# == 1)); then
	explicit_db=1
	DB=$1
else
	explicit_db=0
	DB=adpilot
fi
# Restrict names so they need no quoting in SQL, URLs or sed replacements.
[[ $DB =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$ ]] || die "invalid database name '$DB' (use letters, digits, _ and -)"

# --- 1. DATABASE_URL --------------------------------------------------------

# with_dbname URL DB: URL with its database replaced by DB, keeping userinfo,
# host and query string. Also handles lib/pq's key=value form.
with_dbname() {
	local url=$1 db=$2
	local re_url='^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(/[^?#]*)?(.*)$'
	local re_kv='(^|[[:space:]])dbname='
	if [[ $url =~ $re_url ]]; then
		printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[3]}"
	elif [[ $url =~ $re_kv ]]; then
		printf '%s\n' "$url" | sed -E "s/(^|[[:space:]])dbname=('[^']*'|[^[:space:]]*)/\\1dbname=$db/"
	elif [[ $url == *=* ]]; then
		printf '%s dbname=%s\n' "$url" "$db"
	else
		die "cannot replace the database in DATABASE_URL (not a postgres:// URL nor key=value)"
	fi
}

if [[ -n ${DATABASE_URL:-} ]]; then
	if ((explicit_db)); then
		with_dbname "$DATABASE_URL" "$DB"
	else
		printf '%s\n' "$DATABASE_URL"
	fi
	exit 0
fi

# --- helpers ------------------------------------------------------------------

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SHARED_HOST=${ADPILOT_PG_HOST:-127.0.0.1}
SHARED_PORT=${ADPILOT_PG_PORT:-5432}
PRIV_PORT=${ADPILOT_PRIVATE_PG_PORT:-54329}
[[ $SHARED_PORT =~ ^[0-9]+$ ]] || die "ADPILOT_PG_PORT must be a number, got '$SHARED_PORT'"
[[ $PRIV_PORT =~ ^[0-9]+$ ]] || die "ADPILOT_PRIVATE_PG_PORT must be a number, got '$PRIV_PORT'"

need_pg_msg="install PostgreSQL (apt-get install postgresql) or set DATABASE_URL to a reachable database"

# Newest /usr/lib/postgresql/N/bin: Debian keeps server tools (and an unwrapped
# psql) there, off PATH.
newest_pg_bin() {
	local dirs=(/usr/lib/postgresql/*/bin)
	[[ -d ${dirs[0]} ]] || return 1
	printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

PSQL=$(command -v psql 2>/dev/null) || PSQL="$(newest_pg_bin 2>/dev/null || true)/psql"
[[ -x $PSQL ]] || die "psql not found; $need_pg_msg"

# Fail fast instead of hanging: short connect timeout, never prompt for a
# password. sslmode matches the URL we print.
export PGCONNECT_TIMEOUT=3 PGSSLMODE=disable

# q HOST PORT [psql args...]: run SQL as postgres on the postgres database.
# -X ignores ~/.psqlrc so nothing unexpected reaches our output.
q() {
	local host=$1 port=$2
	shift 2
	"$PSQL" -X -w -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres "$@"
}

url_for() { # HOST PORT
	local host=$1
	[[ $host == *:* ]] && host="[$host]" # IPv6 literal
	printf 'postgres://postgres@%s:%s/%s?sslmode=disable\n' "$host" "$2" "$DB"
}

db_exists() { # HOST PORT
	[[ $(q "$1" "$2" -v db="$DB" <<<"select 1 from pg_database where datname = :'db'") == 1 ]]
}

# ensure_db HOST PORT: create DB if missing. Safe when two runs race: if
# CREATE DATABASE fails ("already exists", or a unique violation when both
# inserted at once) we re-check and accept the database the other run made.
ensure_db() {
	local err
	db_exists "$1" "$2" && return 0
	if ! err=$(q "$1" "$2" -v db="$DB" <<<'create database :"db"' 2>&1); then
		db_exists "$1" "$2" || die "could not create database $DB on $1:$2: $err"
	else
		log "created database $DB on $1:$2"
	fi
}

# --- 2. shared server -----------------------------------------------------------

if shared_err=$(q "$SHARED_HOST" "$SHARED_PORT" -c 'select 1' 2>&1 >/dev/null); then
	ensure_db "$SHARED_HOST" "$SHARED_PORT"
	url_for "$SHARED_HOST" "$SHARED_PORT"
	exit 0
fi
shared_err=${shared_err#psql: error: }
log "no usable PostgreSQL at $SHARED_HOST:$SHARED_PORT (${shared_err%%$'\n'*}); using a private server"

# --- 3. private server --------------------------------------------------------

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# as_pg CMD...: run a server tool. initdb/pg_ctl/postgres refuse to run as
# root, so as root we switch to the postgres OS user. cd / because the caller's
# cwd (e.g. /root) may not be readable by postgres. 9>&- keeps our lock fd out
# of the long-lived postmaster (it would otherwise hold the lock forever).
as_pg() {
	if ((!IS_ROOT)); then
		(cd / && "$@") 9>&-
	elif command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u postgres -- "$@") 9>&-
	else
		(cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")") 9>&-
	fi
}

ensure_pg_user() {
	id -u postgres >/dev/null 2>&1 && return 0
	command -v useradd >/dev/null 2>&1 || die "no 'postgres' OS user and no useradd to create it; $need_pg_msg"
	log "creating system user 'postgres' (initdb/postgres refuse to run as root)"
	local group=(--user-group)
	getent group postgres >/dev/null 2>&1 && group=(--gid postgres)
	useradd --system "${group[@]}" --no-create-home --home-dir /var/lib/postgresql \
		--shell /bin/bash --comment "PostgreSQL administrator" postgres
}

# Where the data lives. Normally $REPO/.data/pg. As root the server runs as
# 'postgres', which must be able to traverse every parent directory. We only
# ever loosen permissions on .data (ours); we do NOT chmod parents outside the
# repository (e.g. /root or a home directory): that would silently widen
# access to unrelated files. If a parent blocks postgres, or the path is
# unusable for a unix socket (too long: sun_path is 107 bytes; or contains
# characters that need quoting in pg_ctl -o), we fall back to a per-checkout
# directory under /var/tmp (survives reboots, reachable by everyone).
choose_pgdir() {
	local data=$REPO/.data reason=""
	PGDIR=$data/pg
	if [[ ! $PGDIR =~ ^[A-Za-z0-9/._-]+$ ]]; then
		reason="$PGDIR contains characters unsafe for pg_ctl options"
	elif ((${#PGDIR} + ${#PRIV_PORT} + 15 > 100)); then
		reason="$PGDIR is too long for a unix socket path"
	else
		if [[ ! -d $data ]]; then
			mkdir -p "$data"
			# Self-ignoring, so the data never shows up in git status.
			printf '*\n' >"$data/.gitignore"
		fi
		if ((IS_ROOT)) && ! as_pg test -x "$data"; then
			if as_pg test -x "$REPO"; then
				chmod o+x "$data"
			else
				reason="user postgres cannot reach $REPO (a parent directory is not traversable)"
			fi
		fi
	fi
	if [[ -n $reason ]]; then
		PGDIR=/var/tmp/adpilot-pg-$(id -u)-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)
		log "note: $reason; using $PGDIR instead"
		# Refuse a directory someone else planted in the shared /var/tmp.
		if [[ -e $PGDIR && ! -O $PGDIR ]] && [[ $(stat -c %U "$PGDIR") != postgres ]]; then
			die "$PGDIR exists but is owned by $(stat -c %U "$PGDIR"); remove it and retry"
		fi
	fi
}

# pg_major BINARY: major version from "pg_ctl (PostgreSQL) 15.20 (Debian ...)".
pg_major() { "$1" --version | sed -nE 's/.*\(PostgreSQL\) ([0-9]+).*/\1/p'; }

# find_server_tools [MAJOR]: set PGBIN to a directory holding initdb and
# pg_ctl. An existing cluster must be run by its own major version (MAJOR,
# from its PG_VERSION), so prefer that.
find_server_tools() {
	local want=${1:-} c
	if [[ -n $want && -x /usr/lib/postgresql/$want/bin/pg_ctl ]]; then
		PGBIN=/usr/lib/postgresql/$want/bin
	elif c=$(command -v pg_ctl 2>/dev/null) && [[ -x $(dirname "$c")/initdb ]]; then
		PGBIN=$(dirname "$c")
	elif c=$(newest_pg_bin) && [[ -x $c/pg_ctl && -x $c/initdb ]]; then
		PGBIN=$c
	else
		die "PostgreSQL server tools (initdb, pg_ctl) not found; $need_pg_msg"
	fi
	if [[ -n $want && $(pg_major "$PGBIN/pg_ctl") != "$want" ]]; then
		die "$PGDIR was created by PostgreSQL $want but only $(pg_major "$PGBIN/pg_ctl") is installed; delete $PGDIR and retry"
	fi
}

start_failed() {
	log "pg_ctl start failed; last lines of $PGDIR/postgres.log:"
	tail -n 8 "$PGDIR/postgres.log" >&2 2>/dev/null || true
	die "could not start the private PostgreSQL (port $PRIV_PORT busy? set ADPILOT_PRIVATE_PG_PORT; broken data? delete $PGDIR)"
}

# Fail before creating users or directories if there is no server to run.
find_server_tools
((IS_ROOT)) && ensure_pg_user
choose_pgdir
mkdir -p "$PGDIR"

# Serialise concurrent runs (e.g. parallel make targets) so only one of them
# runs initdb/start; the others wait and then reuse the running server.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$PGDIR.lock"
	flock -w 180 9 || die "timed out waiting for another ensure-postgres.sh ($PGDIR.lock)"
fi

if ((IS_ROOT)); then
	# Data dir must belong to the server user; fix a tree left by another user.
	if [[ $(stat -c %U "$PGDIR") != postgres ]]; then
		chown -R postgres:postgres "$PGDIR"
	fi
fi

if [[ -f $PGDIR/PG_VERSION ]]; then
	find_server_tools "$(<"$PGDIR/PG_VERSION")"
fi
PORT=$PRIV_PORT
if [[ -f $PGDIR/PG_VERSION ]] && as_pg "$PGBIN/pg_ctl" status -D "$PGDIR" >/dev/null 2>&1; then
	# Reuse. Line 4 of postmaster.pid is the port it really listens on (it may
	# have been started with another ADPILOT_PRIVATE_PG_PORT).
	PORT=$(sed -n 4p "$PGDIR/postmaster.pid" 2>/dev/null || true)
	[[ $PORT =~ ^[0-9]+$ ]] || PORT=$PRIV_PORT
	[[ $PORT == "$PRIV_PORT" ]] || log "note: private server already runs on port $PORT; using it"
else
	if [[ ! -f $PGDIR/PG_VERSION ]]; then
		log "initialising a private PostgreSQL in $PGDIR"
		# Same locale/encoding as the shared server (C.UTF-8, UTF8); initdb's
		# chatter is only shown if it fails.
		locale_opt=--locale=C.UTF-8
		# (no grep -q: an early exit would SIGPIPE locale and trip pipefail)
		locale -a 2>/dev/null | grep -ix 'c\.utf-\{0,1\}8' >/dev/null || locale_opt=--no-locale
		if ! out=$(as_pg "$PGBIN/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 "$locale_opt" --no-instructions 2>&1); then
			printf '%s\n' "$out" >&2
			die "initdb failed (if $PGDIR holds leftovers, delete it and retry)"
		fi
	fi
	log "starting private PostgreSQL on 127.0.0.1:$PORT (log: $PGDIR/postgres.log)"
	# Socket in the data dir: no dependency on /var/run/postgresql existing.
	as_pg "$PGBIN/pg_ctl" -s -w -D "$PGDIR" -l "$PGDIR/postgres.log" \
		-o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" start >&2 || start_failed
fi

err=$(q 127.0.0.1 "$PORT" -c 'select 1' 2>&1 >/dev/null) ||
	die "private PostgreSQL in $PGDIR is running but not reachable on 127.0.0.1:$PORT: $err"
ensure_db 127.0.0.1 "$PORT"
url_for 127.0.0.1 "$PORT"
