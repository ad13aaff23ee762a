# Sourced by .ci/run and tests/bench/run: a throwaway PostgreSQL cluster and Redis server on free
# loopback ports, from the installed binaries, removed on exit. Exports TEST_DATABASE_URL and
# TEST_REDIS_URL. PostgreSQL refuses to run as root, so its commands run as the postgres user.

log() { printf '\n=== %s\n' "$*"; }

install_system_packages() {
    local missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
    # deploy/'s offline checks (.ci/check-deploy): `docker-compose config` and `nginx -t` run without a
    # Docker daemon, so not Docker itself (a recommendation of docker-compose's).
    local tools=()
    command -v docker-compose >/dev/null || tools+=(docker-compose)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || tools+=(nginx)
    if ((${#missing[@]} + ${#tools[@]})); then
        log "installing ${missing[*]} ${tools[*]}"
        apt-get update -qq
    fi
    if ((${#missing[@]})); then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ((${#tools[@]})); then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null
    fi
}

# The browser tests' chromium, its driver (Selenium uses it, downloading nothing) and a CJK font for the
# Chinese pages' screenshots.
install_browser_packages() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-microhei)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A port for a cluster node: it and its cluster bus port (10000 higher, at most 65535) both free.
free_cluster_port() {
    python3 -c '
import random, socket
for _ in range(200):
    port = random.randint(20000, 55000)
    try:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", port)); b.bind(("127.0.0.1", port + 10000))
    except OSError:
        continue
    print(port)
    break'
}

SERVICES_DIR=""
stop_services() {
    stop_redis_cluster
    [ -n "$SERVICES_DIR" ] || return 0
    [ -f "$SERVICES_DIR/redis.pid" ] && kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
    [ -f "$SERVICES_DIR/pgbouncer/pgbouncer.pid" ] && kill "$(cat "$SERVICES_DIR/pgbouncer/pgbouncer.pid")" 2>/dev/null || true
    [ -d "$SERVICES_DIR/pg" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$SERVICES_DIR"
    SERVICES_DIR=""
}

start_postgres() {
    PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    PG_PORT=$(free_port)
    mkdir -p "$SERVICES_DIR/pg" "$SERVICES_DIR/pgsock" "$SERVICES_DIR/pglog"
    chown postgres "$SERVICES_DIR/pg" "$SERVICES_DIR/pgsock" "$SERVICES_DIR/pglog"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$SERVICES_DIR/pg" -A trust -U postgres --no-sync -E UTF8 >/dev/null
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pglog/postgres.log" -w -t 60 start \
        -o "-p $PG_PORT -k $SERVICES_DIR/pgsock -c listen_addresses=127.0.0.1 -c max_connections=200 $PG_EXTRA_OPTIONS" >/dev/null \
        || { cat "$SERVICES_DIR/pglog/postgres.log"; return 1; }
    runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ripple_test
    export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/ripple_test"
}

start_redis() {
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null
    export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

# Debian's PgBouncer in transaction pooling in front of the cluster of start_postgres, for every database
# (the tests' per-worker ones too); TEST_DATABASE_URL then goes through it. PgBouncer refuses the startup
# option that turns JIT off, so the role carries it (docs/database.md).
start_pgbouncer() {
    local dir="$SERVICES_DIR/pgbouncer"
    PGBOUNCER_PORT=$(free_port)
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    echo '"postgres" ""' >"$dir/users.txt"
    chown -R postgres "$dir"
    runuser -u postgres -- "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "ALTER ROLE postgres SET jit = off"
    runuser -u postgres -- /usr/sbin/pgbouncer -d -q "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log"; return 1; }
    for _ in $(seq 50); do [ -f "$dir/pgbouncer.pid" ] && break; sleep 0.1; done
    export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGBOUNCER_PORT/ripple_test"
    echo "PgBouncer (transaction pooling) on port $PGBOUNCER_PORT"
}

start_services() {
    SERVICES_DIR=$(mktemp -d)
    chmod 755 "$SERVICES_DIR"
    start_postgres
    start_redis
    echo "PostgreSQL on port $PG_PORT, Redis on port $REDIS_PORT"
}

# A three-master Redis Cluster (no replicas) on free loopback ports, from the same redis-server binary.
# Exports TEST_REDIS_URL=redis+cluster://... and TEST_RQ_REDIS_URL (RQ does not run on a Cluster: the
# plain Redis of start_services, which must run first). stop_redis_cluster (also run by stop_services)
# removes it.
CLUSTER_DIR=""
start_redis_cluster() {
    CLUSTER_DIR=$(mktemp -d)
    local nodes=() port
    for _ in 1 2 3; do
        port=$(free_cluster_port)
        mkdir -p "$CLUSTER_DIR/$port"
        (cd "$CLUSTER_DIR/$port" && redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file nodes.conf --save '' --appendonly no --daemonize yes \
            --pidfile "$CLUSTER_DIR/$port/redis.pid" --logfile "$CLUSTER_DIR/$port/redis.log")
        nodes+=("127.0.0.1:$port")
    done
    for node in "${nodes[@]}"; do
        for _ in $(seq 200); do redis-cli -p "${node#*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
        redis-cli -p "${node#*:}" ping >/dev/null || { cat "$CLUSTER_DIR/${node#*:}/redis.log"; return 1; }
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$CLUSTER_DIR/create.log"
    for _ in $(seq 100); do
        redis-cli -p "${nodes[0]#*:}" cluster info | grep -q '^cluster_state:ok' && break; sleep 0.1
    done
    redis-cli -p "${nodes[0]#*:}" cluster info | grep -q '^cluster_state:ok' || { cat "$CLUSTER_DIR/create.log"; return 1; }
    export TEST_RQ_REDIS_URL="$TEST_REDIS_URL"
    export TEST_REDIS_URL="redis+cluster://$(IFS=,; echo "${nodes[*]}")"
    echo "Redis Cluster on ${nodes[*]}"
}

stop_redis_cluster() {
    [ -n "$CLUSTER_DIR" ] || return 0
    local pidfile
    for pidfile in "$CLUSTER_DIR"/*/redis.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$CLUSTER_DIR"
    CLUSTER_DIR=""
}
