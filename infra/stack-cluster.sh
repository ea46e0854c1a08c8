# infra/stack-cluster.sh — the cluster profile of the local stack; sourced by infra/stack.sh when it runs
# with `--profile cluster`, never run by itself. See infra/README.md, "Cluster profile".
#
# Members (each a name for up/down/logs, with its own pid file, log and health):
#   kafka-1..3       Kafka KRaft nodes, broker + controller each, one static 3-voter controller quorum
#   registry         Apicurio Registry, as in the single profile (its own port and data)
#   redis-1..6       a Redis Cluster: 3 masters (redis-1..3 at creation) with one replica each
#   clickhouse-1..2  ClickHouse shard 1 and shard 2 of the remote_servers cluster `clm`
# A member's data lives in $STACK_DIR/<member>.
# shellcheck shell=bash disable=SC2034 # settings read by infra/stack.sh

# ---------------------------------------------------------------------------------------------
# Settings (all overridable by environment; the ports are those other engineers code against)
# ---------------------------------------------------------------------------------------------
read -r -a CLUSTER_KAFKA_PORTS <<<"${CLM_CLUSTER_KAFKA_PORTS:-29092 29094 29096}"
read -r -a CLUSTER_KAFKA_CONTROLLER_PORTS <<<"${CLM_CLUSTER_KAFKA_CONTROLLER_PORTS:-29093 29095 29097}"
# Smaller than the single node's 1g: three brokers share a 2-core machine with the single-node stack.
CLUSTER_KAFKA_HEAP=${CLM_CLUSTER_KAFKA_HEAP:-640m}
CLUSTER_KAFKA_MIN_INSYNC=${CLM_CLUSTER_KAFKA_MIN_INSYNC_REPLICAS:-2}
read -r -a CLUSTER_REDIS_PORTS <<<"${CLM_CLUSTER_REDIS_PORTS:-27001 27002 27003 27004 27005 27006}"
# The cluster bus ports, set explicitly: Redis' default (port + 10000) would be 37001-37006.
read -r -a CLUSTER_REDIS_BUS_PORTS <<<"${CLM_CLUSTER_REDIS_BUS_PORTS:-27101 27102 27103 27104 27105 27106}"
# Short, so a killed master's replica takes over within a few seconds (a test waits for it).
CLUSTER_REDIS_NODE_TIMEOUT=${CLM_CLUSTER_REDIS_NODE_TIMEOUT:-3000}
read -r -a CLUSTER_CLICKHOUSE_HTTP_PORTS <<<"${CLM_CLUSTER_CLICKHOUSE_HTTP_PORTS:-28123 28124}"
read -r -a CLUSTER_CLICKHOUSE_TCP_PORTS <<<"${CLM_CLUSTER_CLICKHOUSE_TCP_PORTS:-29000 29001}"
read -r -a CLUSTER_CLICKHOUSE_INTERSERVER_PORTS <<<"${CLM_CLUSTER_CLICKHOUSE_INTERSERVER_PORTS:-29009 29010}"
# The remote_servers cluster every shard's config defines (CLICKHOUSE_CLUSTER of the env file).
CLUSTER_CLICKHOUSE_NAME=clm

cluster_settings_error() { printf 'stack: error: cluster profile: %s\n' "$*" >&2; exit 2; }
((${#CLUSTER_KAFKA_PORTS[@]} == ${#CLUSTER_KAFKA_CONTROLLER_PORTS[@]})) ||
  cluster_settings_error "CLM_CLUSTER_KAFKA_PORTS and CLM_CLUSTER_KAFKA_CONTROLLER_PORTS need one port per broker each"
((${#CLUSTER_KAFKA_PORTS[@]} >= 3)) || cluster_settings_error "the cluster profile needs 3 Kafka brokers (CLM_CLUSTER_KAFKA_PORTS)"
((${#CLUSTER_REDIS_PORTS[@]} >= 6 && ${#CLUSTER_REDIS_PORTS[@]} % 2 == 0)) ||
  cluster_settings_error "a Redis Cluster with one replica per master needs an even number of at least 6 nodes (CLM_CLUSTER_REDIS_PORTS)"
((${#CLUSTER_REDIS_BUS_PORTS[@]} == ${#CLUSTER_REDIS_PORTS[@]})) ||
  cluster_settings_error "CLM_CLUSTER_REDIS_BUS_PORTS needs one port per Redis node"
((${#CLUSTER_CLICKHOUSE_HTTP_PORTS[@]} == ${#CLUSTER_CLICKHOUSE_TCP_PORTS[@]} && ${#CLUSTER_CLICKHOUSE_HTTP_PORTS[@]} == ${#CLUSTER_CLICKHOUSE_INTERSERVER_PORTS[@]})) ||
  cluster_settings_error "CLM_CLUSTER_CLICKHOUSE_{HTTP,TCP,INTERSERVER}_PORTS need one port per shard each"

CLUSTER_KAFKA_COUNT=${#CLUSTER_KAFKA_PORTS[@]}
CLUSTER_REDIS_COUNT=${#CLUSTER_REDIS_PORTS[@]}
CLUSTER_CLICKHOUSE_COUNT=${#CLUSTER_CLICKHOUSE_HTTP_PORTS[@]}
KAFKA_CLUSTER_ID_FILE=$STACK_DIR/kafka-cluster-id

SERVICES=()
for ((i = 1; i <= CLUSTER_KAFKA_COUNT; i++)); do SERVICES+=("kafka-$i"); done
SERVICES+=(registry)
for ((i = 1; i <= CLUSTER_REDIS_COUNT; i++)); do SERVICES+=("redis-$i"); done
for ((i = 1; i <= CLUSTER_CLICKHOUSE_COUNT; i++)); do SERVICES+=("clickhouse-$i"); done
DEFAULT_SERVERS=("${SERVICES[@]}")
# Deleted by reset besides each member's dir.
STACK_DATA_EXTRA=(kafka-cluster-id)

join_by() { local IFS=$1; shift; printf '%s' "$*"; }

# The env file's server lines (infra/stack.sh adds the ClickHouse credentials).
cluster_env_lines() {
  local brokers=() redis=() shards=() i
  for i in "${CLUSTER_KAFKA_PORTS[@]}"; do brokers+=("$HOST:$i"); done
  for i in "${CLUSTER_REDIS_PORTS[@]}"; do redis+=("redis://$HOST:$i"); done
  for i in "${CLUSTER_CLICKHOUSE_HTTP_PORTS[@]}"; do shards+=("http://$HOST:$i"); done
  printf 'export KAFKA_BROKERS=%s\n' "$(join_by , "${brokers[@]}")"
  printf 'export KAFKA_REPLICATION_FACTOR=%s\n' "$CLUSTER_KAFKA_COUNT"
  printf 'export KAFKA_MIN_INSYNC_REPLICAS=%s\n' "$CLUSTER_KAFKA_MIN_INSYNC"
  printf 'export SCHEMA_REGISTRY_URL=%s\n' "$CCOMPAT_URL"
  printf 'export REDIS_URL=%s\n' "$(join_by , "${redis[@]}")"
  printf 'export REDIS_CLUSTER=true\n'
  printf 'export REDIS_WAIT_REPLICAS=1\n'
  printf 'export CLICKHOUSE_URL=%s\n' "${shards[0]}"
  printf 'export CLICKHOUSE_CLUSTER=%s\n' "$CLUSTER_CLICKHOUSE_NAME"
  printf 'export CLICKHOUSE_SHARD_URLS=%s\n' "$(join_by , "${shards[@]}")"
}

# run/cluster-<kind>.result: "ok <detail>" or "failed <detail>", printed by cluster_summary.
cluster_result() { printf '%s %s\n' "$2" "$3" >"$RUN_DIR/cluster-$1.result"; }

cluster_summary() {
  local kind line bad=0
  for kind in kafka redis clickhouse; do
    [[ -f $RUN_DIR/cluster-$kind.result ]] || continue
    line=$(<"$RUN_DIR/cluster-$kind.result")
    printf '  %-*s %-6s %s\n' "$NAME_WIDTH" "$kind" "${line%% *}" "${line#* }"
    [[ ${line%% *} == ok ]] || bad=1
  done
  return "$bad"
}

cluster_after_java() {
  rm -f "$RUN_DIR/cluster-kafka.result"
  selected_kind kafka || return 0
  local t0=$SECONDS detail
  while :; do
    if detail=$(kafka_cluster_check all); then cluster_result kafka ok "cluster: $detail"; return 0; fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then cluster_result kafka failed "cluster: not all $CLUSTER_KAFKA_COUNT brokers registered after ${START_TIMEOUT}s"; return 0; fi
    sleep 1
  done
}

cluster_after_native() {
  rm -f "$RUN_DIR/cluster-redis.result" "$RUN_DIR/cluster-clickhouse.result"
  if selected_kind redis; then
    local detail
    if detail=$(redis_cluster_form); then cluster_result redis ok "Redis Cluster: $detail"
    else cluster_result redis failed "Redis Cluster: $detail"; fi
  fi
  if selected_kind clickhouse; then
    local s shards bad=''
    for s in $(selected_of clickhouse); do
      shards=$(cluster_clickhouse_query "$(member_no "$s")" "SELECT count() FROM system.clusters WHERE cluster = '$CLUSTER_CLICKHOUSE_NAME'" || true)
      [[ $shards == "$CLUSTER_CLICKHOUSE_COUNT" ]] || bad+=" $s sees ${shards:-no} shard(s);"
    done
    if [[ -z $bad ]]; then cluster_result clickhouse ok "cluster $CLUSTER_CLICKHOUSE_NAME: $CLUSTER_CLICKHOUSE_COUNT shard(s), database $CLICKHOUSE_DATABASE on each"
    else cluster_result clickhouse failed "cluster $CLUSTER_CLICKHOUSE_NAME:$bad"; fi
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka: kafka-<n> is node n (broker + controller); the quorum's voters are fixed (controller.quorum.voters),
# so each node's storage is formatted once, with the cluster id every node shares, and no quorum flags.
# ---------------------------------------------------------------------------------------------
ports_kafka_member() {
  printf '%s CLM_CLUSTER_KAFKA_PORTS\n%s CLM_CLUSTER_KAFKA_CONTROLLER_PORTS\n' \
    "${CLUSTER_KAFKA_PORTS[$1 - 1]}" "${CLUSTER_KAFKA_CONTROLLER_PORTS[$1 - 1]}"
}
url_kafka_member() {
  printf 'PLAINTEXT://%s:%s (node %s, controller %s:%s)' "$HOST" "${CLUSTER_KAFKA_PORTS[$1 - 1]}" "$1" "$HOST" "${CLUSTER_KAFKA_CONTROLLER_PORTS[$1 - 1]}"
}

# The id every node's storage is formatted with. The brokers start in parallel: the first to link its
# complete file wins (ln fails when the name exists), the others read that one.
kafka_shared_cluster_id() {
  if [[ ! -s $KAFKA_CLUSTER_ID_FILE ]]; then
    local tmp="$KAFKA_CLUSTER_ID_FILE.tmp.$BASHPID"
    kafka_cluster_id >"$tmp"
    ln "$tmp" "$KAFKA_CLUSTER_ID_FILE" 2>/dev/null || true
    rm -f "$tmp"
  fi
  cat "$KAFKA_CLUSTER_ID_FILE"
}

start_kafka_member() {
  local n=$1 name="kafka-$1" dir="$STACK_DIR/kafka-$1" voters=() i port controller
  port=${CLUSTER_KAFKA_PORTS[n - 1]} controller=${CLUSTER_KAFKA_CONTROLLER_PORTS[n - 1]}
  for ((i = 1; i <= CLUSTER_KAFKA_COUNT; i++)); do voters+=("$i@$HOST:${CLUSTER_KAFKA_CONTROLLER_PORTS[i - 1]}"); done
  mkdir -p "$dir/config" "$dir/data"
  cat >"$dir/config/server.properties" <<EOF
# generated by infra/stack.sh --profile cluster — edits are overwritten on every start
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(join_by , "${voters[@]}")
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$controller
advertised.listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$controller
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$CLUSTER_KAFKA_COUNT
min.insync.replicas=$CLUSTER_KAFKA_MIN_INSYNC
unclean.leader.election.enable=false
auto.create.topics.enable=false
offsets.topic.replication.factor=$CLUSTER_KAFKA_COUNT
transaction.state.log.replication.factor=$CLUSTER_KAFKA_COUNT
transaction.state.log.min.isr=$CLUSTER_KAFKA_MIN_INSYNC
share.coordinator.state.topic.replication.factor=$CLUSTER_KAFKA_COUNT
share.coordinator.state.topic.min.isr=$CLUSTER_KAFKA_MIN_INSYNC
group.initial.rebalance.delay.ms=0
# Fewer threads than the defaults (3 network, 8 I/O): three brokers share two cores.
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=1073741824
EOF
  if [[ ! -f $dir/data/meta.properties ]]; then
    format_kafka_storage "$name" "$dir" --cluster-id "$(kafka_shared_cluster_id)" || return 1
  fi
  spawn_kafka "$name" "$dir" "$CLUSTER_KAFKA_HEAP"
}

# node <broker host:port> <node id> <mode>: describeCluster and every topic's metadata through that broker.
# Modes: member (the node is registered), in-sync (and in the ISR of every partition it replicates),
# all (every node is registered; the node id is ignored).
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
CLUSTER_KAFKA_CHECK_JS='
const { Kafka, logLevel } = require("kafkajs");
const [broker, node, mode, expected] = process.argv.slice(1);
const kafka = new Kafka({ clientId: "clm-stack-health", brokers: [broker], logLevel: logLevel.NOTHING,
  connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
const admin = kafka.admin();
(async () => {
  await admin.connect();
  const cluster = await admin.describeCluster();
  const { topics } = await admin.fetchTopicMetadata();
  await admin.disconnect();
  const id = Number(node);
  const ids = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  let under = 0, lagging = 0, partitions = 0;
  for (const topic of topics) for (const p of topic.partitions) {
    partitions++;
    if (p.isr.length < p.replicas.length) under++;
    if (p.replicas.includes(id) && !p.isr.includes(id)) lagging++;
  }
  const line = `brokers [${ids.join(",")}], ${topics.length} topic(s), ${partitions} partition(s), ${under} under-replicated`;
  const fail = (why) => { console.error(`${why}: ${line}`); process.exit(1); };
  if (mode === "all") { if (ids.length < Number(expected)) fail(`${ids.length} of ${expected} brokers`); }
  else if (!ids.includes(id)) fail(`node ${id} not registered`);
  else if (mode === "in-sync" && lagging > 0) fail(`node ${id} not yet in sync for ${lagging} partition(s)`);
  console.log(line);
})().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
'

kafka_member_check() { # <n> <mode>
  (cd "$REPO_ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 timeout 20 node -e "$CLUSTER_KAFKA_CHECK_JS" \
    "$HOST:${CLUSTER_KAFKA_PORTS[$1 - 1]}" "$1" "$2" "$CLUSTER_KAFKA_COUNT")
}

# The cluster's view through the first broker that answers.
kafka_cluster_check() { # <mode>
  local n
  for ((n = 1; n <= CLUSTER_KAFKA_COUNT; n++)); do
    kafka_member_check "$n" "$1" 2>/dev/null && return 0
  done
  return 1
}

health_kafka_member() { kafka_member_check "$1" member 2>/dev/null; }

# A restarted broker has caught up when it is back in the ISR of every partition it replicates.
post_start_kafka_member() {
  local t0=$SECONDS detail
  while :; do
    if detail=$(kafka_member_check "$1" in-sync 2>&1); then
      note "kafka-$1" "in sync after $((SECONDS - t0))s: $detail"; return 0
    fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then note "kafka-$1" "not in sync after ${START_TIMEOUT}s: $detail"; return 1; fi
    sleep 1
  done
}

version_kafka_member() {
  local v
  v=$(grep -ho 'Kafka version: [^ ,]*' "$(service_log "kafka-$1")" 2>/dev/null | tail -n 1 | sed 's/Kafka version: //')
  printf '%s' "${v:-unknown}"
}

# ---------------------------------------------------------------------------------------------
# Redis Cluster: redis-<n> on the n-th port; created once with redis-cli --cluster create, after which
# each node's nodes.conf holds the cluster (a restarted node rejoins by itself, a former master as a
# replica of the node that took over its slots).
# ---------------------------------------------------------------------------------------------
ports_redis_member() {
  printf '%s CLM_CLUSTER_REDIS_PORTS\n%s CLM_CLUSTER_REDIS_BUS_PORTS\n' "${CLUSTER_REDIS_PORTS[$1 - 1]}" "${CLUSTER_REDIS_BUS_PORTS[$1 - 1]}"
}
url_redis_member() { printf 'redis://%s:%s (bus %s)' "$HOST" "${CLUSTER_REDIS_PORTS[$1 - 1]}" "${CLUSTER_REDIS_BUS_PORTS[$1 - 1]}"; }

redis_member_cli() { local n=$1; shift; timeout 5 redis-cli -h "$HOST" -p "${CLUSTER_REDIS_PORTS[n - 1]}" "$@" 2>/dev/null | tr -d '\r'; }
# field <text> <name>: the value of a "name:value" line.
info_field() { sed -n "s/^$2://p" <<<"$1" | head -n 1; }

start_redis_member() {
  local n=$1 dir="$STACK_DIR/redis-$1" bin
  bin=$(redis_bin) || { note "redis-$n" "redis-server not found"; return 1; }
  mkdir -p "$dir/data"
  cat >"$dir/redis.conf" <<EOF
# generated by infra/stack.sh --profile cluster — edits are overwritten on every start
bind $HOST
port ${CLUSTER_REDIS_PORTS[n - 1]}
protected-mode yes
daemonize no
supervised no
logfile ""
loglevel notice
dir $dir/data
save ""
appendonly yes
appendfilename "appendonly.aof"
appendfsync everysec
cluster-enabled yes
cluster-config-file nodes.conf
cluster-port ${CLUSTER_REDIS_BUS_PORTS[n - 1]}
cluster-node-timeout $CLUSTER_REDIS_NODE_TIMEOUT
cluster-announce-ip $HOST
EOF
  spawn "redis-$n" "$dir" "$bin" "$dir/redis.conf"
}

# Ready for the cluster step: the node answers (before the cluster exists, its state is fail).
ready_redis_member() {
  [[ $(redis_member_cli "$1" PING) == PONG ]] || return 1
  printf 'PING -> PONG\n'
}

# Healthy: the node answers, sees cluster_state:ok, and a replica's link to its master is up.
health_redis_member() {
  local info repl role
  info=$(redis_member_cli "$1" CLUSTER INFO) || return 1
  [[ $(info_field "$info" cluster_state) == ok ]] || return 1
  repl=$(redis_member_cli "$1" INFO replication) || return 1
  role=$(info_field "$repl" role)
  if [[ $role == master ]]; then
    printf 'master, %s replica(s), cluster_state:ok, %s known nodes\n' "$(info_field "$repl" connected_slaves)" "$(info_field "$info" cluster_known_nodes)"
  else
    [[ $(info_field "$repl" master_link_status) == up ]] || return 1
    printf 'replica of %s:%s (link up), cluster_state:ok\n' "$(info_field "$repl" master_host)" "$(info_field "$repl" master_port)"
  fi
}

version_redis_member() { redis_member_cli "$1" INFO server | sed -n 's/^redis_version:/redis-server /p'; }

# The cluster as `CLUSTER NODES` of one node shows it: "<masters> <masters with a connected replica>".
redis_cluster_shape() {
  redis_member_cli "$1" CLUSTER NODES | awk '
    $3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { masters[$1] = 1 }
    $3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected" { replicated[$4] = 1 }
    END { m = 0; r = 0; for (id in masters) { m++; if (id in replicated) r++ } print m, r }'
}

# Creates the cluster when every node is new, then waits until the running members agree it is ok.
redis_cluster_form() {
  local n running=() fresh=0 clustered=0 info addrs=() t0=$SECONDS
  for ((n = 1; n <= CLUSTER_REDIS_COUNT; n++)); do
    is_ours "redis-$n" || continue
    running+=("$n")
    info=$(redis_member_cli "$n" CLUSTER INFO) || { printf 'redis-%s does not answer CLUSTER INFO\n' "$n"; return 1; }
    if [[ $(info_field "$info" cluster_known_nodes) == 1 && $(info_field "$info" cluster_slots_assigned) == 0 ]]; then fresh=$((fresh + 1))
    else clustered=$((clustered + 1)); fi
  done
  if ((clustered == 0)); then
    if ((fresh < CLUSTER_REDIS_COUNT)); then
      printf 'only %s of %s new nodes run; the cluster is created when all do\n' "$fresh" "$CLUSTER_REDIS_COUNT"; return 1
    fi
    for ((n = 1; n <= CLUSTER_REDIS_COUNT; n++)); do addrs+=("$HOST:${CLUSTER_REDIS_PORTS[n - 1]}"); done
    note redis "creating the Redis Cluster: redis-cli --cluster create ${addrs[*]} --cluster-replicas 1"
    if ! timeout 120 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >>"$LOG_DIR/redis-cluster-create.log" 2>&1; then
      tail -n 20 "$LOG_DIR/redis-cluster-create.log" >&2
      printf 'redis-cli --cluster create failed (log %s)\n' "$LOG_DIR/redis-cluster-create.log"; return 1
    fi
  elif ((fresh > 0)); then
    printf '%s node(s) are new (empty nodes.conf) beside a formed cluster; run: npm run stack -- reset --profile cluster\n' "$fresh"; return 1
  fi
  # Every running node sees the cluster ok (a restarted one has rejoined, a replica has synced); with
  # all nodes running, every master has a connected replica.
  local ok shape=''
  while :; do
    ok=1
    for n in "${running[@]}"; do health_redis_member "$n" >/dev/null || { ok=0; break; }; done
    shape=$(redis_cluster_shape "${running[0]}")
    if ((ok)) && { ((${#running[@]} < CLUSTER_REDIS_COUNT)) || [[ $shape == "$((CLUSTER_REDIS_COUNT / 2)) $((CLUSTER_REDIS_COUNT / 2))" ]]; }; then
      printf 'cluster_state:ok, %s master(s), %s with a connected replica, %s of %s nodes running\n' \
        "${shape% *}" "${shape#* }" "${#running[@]}" "$CLUSTER_REDIS_COUNT"
      return 0
    fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then
      printf 'not ok after %ss (masters, masters with a replica: %s)\n' "$START_TIMEOUT" "$shape"; return 1
    fi
    sleep 1
  done
}

# ---------------------------------------------------------------------------------------------
# ClickHouse: clickhouse-<n> is shard n of the remote_servers cluster `clm` (one replica per shard).
# ---------------------------------------------------------------------------------------------
ports_clickhouse_member() {
  printf '%s CLM_CLUSTER_CLICKHOUSE_HTTP_PORTS\n%s CLM_CLUSTER_CLICKHOUSE_TCP_PORTS\n%s CLM_CLUSTER_CLICKHOUSE_INTERSERVER_PORTS\n' \
    "${CLUSTER_CLICKHOUSE_HTTP_PORTS[$1 - 1]}" "${CLUSTER_CLICKHOUSE_TCP_PORTS[$1 - 1]}" "${CLUSTER_CLICKHOUSE_INTERSERVER_PORTS[$1 - 1]}"
}
url_clickhouse_member() {
  printf 'http://%s:%s (shard %s, native tcp %s)' "$HOST" "${CLUSTER_CLICKHOUSE_HTTP_PORTS[$1 - 1]}" "$1" "${CLUSTER_CLICKHOUSE_TCP_PORTS[$1 - 1]}"
}

# The config's @CLUSTER@: every shard's native address with the stack's `default` credentials, and this
# server's shard number as the macro {shard}.
clickhouse_cluster_xml() {
  local n=$1 i password
  password=$(secret clickhouse-default)
  printf '<remote_servers>\n        <%s>\n' "$CLUSTER_CLICKHOUSE_NAME"
  for ((i = 1; i <= CLUSTER_CLICKHOUSE_COUNT; i++)); do
    printf '            <shard><replica><host>%s</host><port>%s</port><user>default</user><password>%s</password></replica></shard>\n' \
      "$HOST" "${CLUSTER_CLICKHOUSE_TCP_PORTS[i - 1]}" "$password"
  done
  printf '        </%s>\n    </remote_servers>\n    <macros><shard>%s</shard></macros>' "$CLUSTER_CLICKHOUSE_NAME" "$n"
}

start_clickhouse_member() {
  local n=$1
  start_clickhouse_server "clickhouse-$n" "${CLUSTER_CLICKHOUSE_HTTP_PORTS[n - 1]}" "${CLUSTER_CLICKHOUSE_TCP_PORTS[n - 1]}" \
    "${CLUSTER_CLICKHOUSE_INTERSERVER_PORTS[n - 1]}" "$(clickhouse_cluster_xml "$n")"
}
on_running_clickhouse_member() { write_clickhouse_users "$STACK_DIR/clickhouse-$1/etc"; }

cluster_clickhouse_query() { # <n> <sql>
  clickhouse_curl -fsS -m 5 "http://$HOST:${CLUSTER_CLICKHOUSE_HTTP_PORTS[$1 - 1]}/" --data-binary "$2" 2>/dev/null
}

health_clickhouse_member() {
  local v shards
  v=$(cluster_clickhouse_query "$1" 'SELECT version()') && [[ -n $v ]] || return 1
  shards=$(cluster_clickhouse_query "$1" "SELECT count() FROM system.clusters WHERE cluster = '$CLUSTER_CLICKHOUSE_NAME'") || return 1
  [[ $shards == "$CLUSTER_CLICKHOUSE_COUNT" ]] || return 1
  printf 'SELECT version() -> %s, shard %s of cluster %s (%s shards)\n' "$v" "$1" "$CLUSTER_CLICKHOUSE_NAME" "$shards"
}
version_clickhouse_member() { local v; v=$(cluster_clickhouse_query "$1" 'SELECT version()') && printf 'ClickHouse %s' "$v"; }

post_start_clickhouse_member() {
  cluster_clickhouse_query "$1" "CREATE DATABASE IF NOT EXISTS $CLICKHOUSE_DATABASE" >/dev/null ||
    { note "clickhouse-$1" "CREATE DATABASE $CLICKHOUSE_DATABASE failed"; return 1; }
}
