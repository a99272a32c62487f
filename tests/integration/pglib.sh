# A PostgreSQL of the test's own, for the cluster tests: initdb in a
# temporary directory as the postgres user (initdb refuses root),
# listening on a Unix socket only, never on TCP. Sourced after lib.sh.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
	fail "PostgreSQL is not installed (scripts/deps installs it)"
id postgres >/dev/null 2>&1 || fail "there is no postgres user (the postgresql package makes it)"
PG_DIR=$(mktemp -d /tmp/forq-pg.XXXXXX)
chown postgres: "$PG_DIR"
chmod 0755 "$PG_DIR"

pg_as() {
	runuser -u postgres -- "$@"
}

pg_start() {
	if [ ! -d "$PG_DIR/data" ]; then
		pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
			-E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 ||
			fail "initdb: $(cat "$PG_DIR/initdb.log")"
	fi
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories=$PG_DIR -c fsync=off" \
		start >/dev/null || fail "PostgreSQL did not start: $(tail -n 20 "$PG_DIR/server.log")"
}

pg_stop() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 30 stop >/dev/null ||
		fail "PostgreSQL did not stop"
}

# pg_sql [psql options] SQL: as the superuser, in the forq database.
pg_sql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d "${PG_DB:-forq}" \
		-At -c "$@"
}

# pg_make_db: the database forqd uses and the role it uses it as, which
# owns it and has no other right (docs/SECURITY.md).
pg_make_db() {
	PG_DB=postgres pg_sql "CREATE ROLE forq LOGIN" &&
		PG_DB=postgres pg_sql "CREATE DATABASE forq OWNER forq" ||
		fail "cannot make the forq database"
}

PG_DSN="host=$PG_DIR dbname=forq user=forq"

# pg_hold NAME SQL: a superuser's session of its own (application_name
# NAME) runs SQL in a transaction and keeps what it locked until
# pg_let_go NAME commits it: a database that makes one statement of
# forqd's wait as long as a test needs.
declare -A PG_HOLD_FD PG_HOLD_PID
pg_hold() {
	local fd
	rm -f "$T/hold.$1"
	mkfifo "$T/hold.$1"
	PGAPPNAME=$1 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d forq \
		-At <"$T/hold.$1" >"$T/hold.$1.out" 2>&1 &
	PG_HOLD_PID[$1]=$!
	exec {fd}>"$T/hold.$1"
	PG_HOLD_FD[$1]=$fd
	echo "BEGIN; $2" >&"$fd"
	timeout 10 bash -c "until [ \"\$(\"$PG_BIN/psql\" -X -h '$PG_DIR' -U postgres -d forq -At -c \"SELECT state FROM pg_stat_activity WHERE application_name = '$1'\")\" = 'idle in transaction' ]; do sleep 0.05; done" ||
		fail "the session $1 did not take its locks: $(cat "$T/hold.$1.out")"
}

pg_let_go() {
	local fd=${PG_HOLD_FD[$1]}
	echo "COMMIT;" >&"$fd"
	eval "exec $fd>&-"
	wait "${PG_HOLD_PID[$1]}" || fail "the session $1 failed: $(cat "$T/hold.$1.out")"
}

pg_cleanup() {
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
}
