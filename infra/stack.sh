#!/usr/bin/env bash
# infra/stack.sh — the project's local stack without Docker: real servers on 127.0.0.1.
#
#   npm run stack -- up [name...]  install what is missing, start everything (or the servers named), wait until healthy
#   npm run stack -- install [name...]  only install what is missing (e.g. `install prometheus` for promtool)
#   npm run stack -- down          stop what this stack started (pid files; TERM, then KILL)
#   npm run stack -- status [--json]
#   npm run stack -- logs [name] [-f]
#   npm run stack -- reset         down + delete data (keeps the download cache)
#   ... --profile cluster          any command on the cluster profile instead (infra/stack-cluster.sh):
#                                  3 Kafka brokers, a Redis Cluster of 6, 2 ClickHouse shards, one registry
#
# Servers: kafka (Apache Kafka 4.x, KRaft, jars from Maven Central), registry (Apicurio Registry,
# Confluent-compatible API, from Maven Central), redis (Debian redis-server), clickhouse (Debian
# clickhouse-server), and on request prometheus (Debian prometheus: the alert rules of infra/prometheus,
# scraping the pipeline's services). See infra/README.md.
set -euo pipefail
set +m # no job control: background children stay non-leaders, so `setsid` execs without forking

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFRA_DIR="$REPO_ROOT/infra"

# `--profile <single|cluster>` anywhere among the arguments (or CLM_STACK_PROFILE) picks the profile;
# the other arguments stay as they were.
PROFILE=${CLM_STACK_PROFILE:-single}
ARGS=()
while (($#)); do
  case $1 in
    --profile) PROFILE=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
    --profile=*) PROFILE=${1#--profile=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}
case $PROFILE in
  single | cluster) ;;
  *) printf 'stack: error: unknown profile "%s" (expected single or cluster)\n' "$PROFILE" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------------------------------------
# Settings (all overridable by environment)
# ---------------------------------------------------------------------------------------------
if [[ $PROFILE == cluster ]]; then STACK_DIR=${CLM_STACK_DIR:-$REPO_ROOT/.stack-cluster}
else STACK_DIR=${CLM_STACK_DIR:-$REPO_ROOT/.stack}; fi
mkdir -p "$STACK_DIR"
STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
CACHE_DIR=${CLM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clm-stack}

HOST=127.0.0.1
KAFKA_PORT=${CLM_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${CLM_KAFKA_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${CLM_REGISTRY_PORT:-18081}
[[ $PROFILE != cluster ]] || REGISTRY_PORT=${CLM_CLUSTER_REGISTRY_PORT:-28081}
REDIS_PORT=${CLM_REDIS_PORT:-16379}
CLICKHOUSE_HTTP_PORT=${CLM_CLICKHOUSE_HTTP_PORT:-18123}
CLICKHOUSE_TCP_PORT=${CLM_CLICKHOUSE_TCP_PORT:-19000}
CLICKHOUSE_INTERSERVER_PORT=${CLM_CLICKHOUSE_INTERSERVER_PORT:-} # empty = no interserver port
CLICKHOUSE_DATABASE=${CLM_CLICKHOUSE_DATABASE:-clm}
PROMETHEUS_PORT=${CLM_PROMETHEUS_PORT:-19090}
# Short intervals, so a test sees an alert move within seconds (a production Prometheus scrapes every 15-30 s).
PROMETHEUS_SCRAPE_INTERVAL=${CLM_PROMETHEUS_SCRAPE_INTERVAL:-2s}
PROMETHEUS_EVALUATION_INTERVAL=${CLM_PROMETHEUS_EVALUATION_INTERVAL:-2s}
# Empty: the rules' own `for:` durations (the production profile). A duration such as 10s replaces every
# rule's `for:` in the copy this Prometheus loads (the test profile; infra/prometheus/alerts.yml is unchanged).
PROMETHEUS_ALERT_FOR=${CLM_PROMETHEUS_ALERT_FOR:-}
# The pipeline's services Prometheus scrapes: "job port" of each service's /metrics, one line per service
# `clm up` starts (packages/cli/src/services.ts), from the same variables (and defaults) the services read.
PROMETHEUS_TARGETS=(
  "ingest ${INGEST_PORT:-8080}"
  "processor ${PROCESSOR_HTTP_PORT:-8081}"
  "sink ${SINK_HTTP_PORT:-8082}"
  "modeler ${MODELER_HTTP_PORT:-8083}"
  "console ${CONSOLE_PORT:-8084}"
  "webhooks ${WEBHOOKS_PORT:-8085}"
)

KAFKA_VERSION=${CLM_KAFKA_VERSION:-4.4.0}
# Tried in order; the first one Maven can fetch (or that is already cached) wins. 3.2+ needs Java 21.
APICURIO_VERSIONS=${CLM_APICURIO_VERSION:-3.1.7 3.1.6 3.0.9}
# file: H2 database under the stack dir, so schema ids survive down/up like the Kafka records that
# carry them (reset wipes both); memory: Apicurio's in-memory default, empty after every restart.
REGISTRY_STORAGE=${CLM_REGISTRY_STORAGE:-file}
KAFKA_HEAP=${CLM_KAFKA_HEAP:-1g}
REGISTRY_HEAP=${CLM_REGISTRY_HEAP:-512m}
START_TIMEOUT=${CLM_START_TIMEOUT:-180} # seconds per server, until it answers a real request
STOP_TIMEOUT=${CLM_STOP_TIMEOUT:-30}    # seconds after TERM before KILL

if [[ -n "${CLM_JAVA:-}" ]]; then JAVA=$CLM_JAVA
elif [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi
MVN=${CLM_MVN:-mvn}

# Every server this script knows; `up` without names starts DEFAULT_SERVERS. Prometheus is started only
# when asked (`up prometheus`, or CLM_PROMETHEUS=1 for every `up`): the test suite needs no shared one
# (promtool checks the rules; the alert test starts its own), and it is one more process on a busy machine.
SERVICES=(kafka registry redis clickhouse prometheus)
DEFAULT_SERVERS=(kafka registry redis clickhouse)
[[ ${CLM_PROMETHEUS:-0} != 1 ]] || DEFAULT_SERVERS+=(prometheus)
LOG_DIR=$STACK_DIR/logs
PID_DIR=$STACK_DIR/pids
RUN_DIR=$STACK_DIR/run
# ClickHouse passwords, generated once per stack dir (never committed: the stack dir is git-ignored).
SECRETS_DIR=$STACK_DIR/secrets
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
REGISTRY_URL_BASE=http://$HOST:$REGISTRY_PORT
CCOMPAT_URL=$REGISTRY_URL_BASE/apis/ccompat/v7

# The cluster profile: its settings, its members (kafka-1.., redis-1.., clickhouse-1..) and their functions.
# shellcheck source=infra/stack-cluster.sh
[[ $PROFILE != cluster ]] || . "$INFRA_DIR/stack-cluster.sh"
# How a hint names this profile on a command line.
PROFILE_ARG=''
[[ $PROFILE != cluster ]] || PROFILE_ARG=' --profile cluster'
# Width of the name column in up's and status's tables.
NAME_WIDTH=10
[[ $PROFILE != cluster ]] || NAME_WIDTH=12

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
note() { printf '[%s] %s\n' "$1" "${*:2}" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
is_service() { local s; for s in "${SERVICES[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
is_default() { local s; for s in "${DEFAULT_SERVERS[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

# A cluster member's name is <kind>-<n> (kafka-2, redis-5); a single-profile server's name is its kind.
kind_of() { if [[ $1 =~ ^(.*)-[0-9]+$ ]]; then printf '%s' "${BASH_REMATCH[1]}"; else printf '%s' "$1"; fi; }
member_no() { if [[ $1 =~ -([0-9]+)$ ]]; then printf '%s' "${BASH_REMATCH[1]}"; fi; }
# The function doing <op> (start, health, version, ...) for a server: <op>_<name>, or for a cluster
# member <op>_<kind>_member, called with the member's number.
server_fn() {
  if [[ -n $(member_no "$2") ]]; then printf '%s_%s_member' "$1" "$(kind_of "$2")"; else printf '%s_%s' "$1" "$2"; fi
}
server_has() { [[ $(type -t "$(server_fn "$1" "$2")") == function ]]; }
server_do() {
  local fn n
  fn=$(server_fn "$1" "$2") n=$(member_no "$2")
  if [[ -n $n ]]; then "$fn" "$n"; else "$fn"; fi
}

usage() {
  cat <<EOF
usage: npm run stack -- <command>
  up [name...]     install missing pieces, start kafka, registry, redis, clickhouse (and prometheus when
                   CLM_PROMETHEUS=1), or only the servers named; wait until healthy
  install [name...] install what is missing (Debian packages, Maven downloads), start nothing
  down [name...]   stop the servers this stack started, or only those named (keeps data)
  status [--json]  state, pid, URL and health of each server (exit 1 if any is not healthy)
  logs [name] [-f] tail the logs (name: ${SERVICES[*]})
  reset            down, then delete the data dirs (keeps the download cache)
  --profile cluster  (with any command) the cluster profile: kafka-1..3, registry, redis-1..6,
                   clickhouse-1..2, each a name for up/down/logs (infra/README.md)
profile: $PROFILE    stack dir: $STACK_DIR    cache dir: $CACHE_DIR
EOF
}

# Lines "port ENV_VAR" for each TCP port a server listens on.
service_ports() {
  case $1 in
    *-[0-9]*) server_do ports "$1" ;;
    kafka) printf '%s CLM_KAFKA_PORT\n%s CLM_KAFKA_CONTROLLER_PORT\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ;;
    registry) printf '%s CLM_REGISTRY_PORT\n' "$REGISTRY_PORT" ;;
    redis) printf '%s CLM_REDIS_PORT\n' "$REDIS_PORT" ;;
    clickhouse)
      printf '%s CLM_CLICKHOUSE_HTTP_PORT\n%s CLM_CLICKHOUSE_TCP_PORT\n' "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT"
      [[ -z $CLICKHOUSE_INTERSERVER_PORT ]] || printf '%s CLM_CLICKHOUSE_INTERSERVER_PORT\n' "$CLICKHOUSE_INTERSERVER_PORT"
      ;;
    prometheus) printf '%s CLM_PROMETHEUS_PORT\n' "$PROMETHEUS_PORT" ;;
  esac
}

service_url() {
  case $1 in
    *-[0-9]*) server_do url "$1" ;;
    kafka) printf 'PLAINTEXT://%s:%s (controller %s:%s)' "$HOST" "$KAFKA_PORT" "$HOST" "$KAFKA_CONTROLLER_PORT" ;;
    registry) printf '%s' "$CCOMPAT_URL" ;;
    redis) printf 'redis://%s:%s' "$HOST" "$REDIS_PORT" ;;
    clickhouse) printf 'http://%s:%s (native tcp %s:%s)' "$HOST" "$CLICKHOUSE_HTTP_PORT" "$HOST" "$CLICKHOUSE_TCP_PORT" ;;
    prometheus) printf 'http://%s:%s' "$HOST" "$PROMETHEUS_PORT" ;;
  esac
}

service_log() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

# "p1,p2": the ports a server is configured for; stored beside its pid file when it starts.
ports_sig() { service_ports "$1" | awk '{print $1}' | paste -sd, -; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

port_holder() {
  have ss || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/pid \2 (\1)/p' | head -n 1
}

# Process start time (clock ticks since boot), to tell our process from a recycled pid.
proc_starttime() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}'; }

proc_pgid() { ps -o pgid= -p "$1" 2>/dev/null | tr -d ' '; }

# True while the process exists and is not a zombie (an unreaped zombie is already dead).
proc_alive() {
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z ]]
}

# Sets PID/PGID if the pid file names a live process that this stack started.
is_ours() {
  local f="$PID_DIR/$1.pid" pid start pgid
  PID='' PGID=''
  [[ -f $f ]] || return 1
  read -r pid start pgid <"$f" || true
  [[ -n ${pid:-} ]] && proc_alive "$pid" || return 1
  [[ "$(proc_starttime "$pid")" == "${start:-x}" ]] || return 1
  PID=$pid PGID=${pgid:-$pid}
}

# Start a server in its own session, in the background, logging to $LOG_DIR/<name>.log.
# The lock fd (9) is closed for the child so a running server never holds the stack lock.
spawn() {
  local name=$1 cwd=$2; shift 2
  local log; log=$(service_log "$name")
  mkdir -p "$cwd"
  printf '\n===== %s: starting %s =====\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  (cd "$cwd" && exec setsid nohup "$@" </dev/null >>"$log" 2>&1 9>&-) &
  local pid=$!
  sleep 0.2
  local pgid; pgid=$(proc_pgid "$pid" || true)
  printf '%s %s %s\n' "$pid" "$(proc_starttime "$pid" || true)" "${pgid:-$pid}" >"$PID_DIR/$name.pid"
  ports_sig "$name" >"$PID_DIR/$name.ports"
  note "$name" "started, pid $pid, log $log"
}

tail_log() {
  local name=$1 n=${2:-40} f
  for f in "$(service_log "$name")" "$LOG_DIR/$name.err.log"; do
    [[ -s $f ]] || continue
    printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2
  done
}

# secret <name>: prints the stack's secret of that name, generating it (128 random bits, in hex) the
# first time; reset keeps it, so every client of this stack dir keeps working. Readable by its owner only.
secret() {
  local f="$SECRETS_DIR/$1"
  if [[ ! -s $f ]]; then
    (
      umask 077
      mkdir -p "$SECRETS_DIR"
      od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$f.tmp.$$"
      mv "$f.tmp.$$" "$f"
    )
  fi
  cat "$f"
}

sha256_hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# curl as ClickHouse's `default` user. The password reaches curl on its stdin (a config line), never on
# its command line, which every user of the machine can read. Before the stack's first `up` with a
# generated password there is none, and the empty one is sent.
clickhouse_curl() {
  local password=''
  [[ -s $SECRETS_DIR/clickhouse-default ]] && password=$(<"$SECRETS_DIR/clickhouse-default")
  printf 'user = "default:%s"\n' "$password" | curl -K - "$@"
}

java_major() {
  "$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1
}

# ---------------------------------------------------------------------------------------------
# Health checks: each makes a real request and prints a one-line detail on success.
# ---------------------------------------------------------------------------------------------
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
KAFKA_CHECK_JS='
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({ clientId: "clm-stack-health", brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
  connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
const admin = kafka.admin();
(async () => {
  await admin.connect();
  const cluster = await admin.describeCluster();
  const topics = await admin.listTopics();
  await admin.disconnect();
  console.log(`cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), ${topics.length} topic(s)`);
})().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
'

health_kafka() {
  (cd "$REPO_ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 timeout 20 node -e "$KAFKA_CHECK_JS" "$HOST:$KAFKA_PORT") 2>/dev/null
}
health_registry() {
  local body
  body=$(curl -fsS -m 5 "$CCOMPAT_URL/subjects" 2>/dev/null) || return 1
  [[ $body == \[* ]] || return 1
  # A count, not the list: test runs and benches register a subject per topic, hundreds over time.
  local count=0
  [[ $body == '[]' ]] || count=$(($(grep -o '","' <<<"$body" | wc -l) + 1))
  printf '%s schema subject(s)\n' "$count"
}
health_redis() {
  local r
  r=$(timeout 5 redis-cli -h "$HOST" -p "$REDIS_PORT" PING 2>/dev/null) || return 1
  [[ $r == PONG ]] || return 1
  printf 'PING -> PONG\n'
}
health_clickhouse() {
  local v
  v=$(clickhouse_curl -fsS -m 5 "http://$HOST:$CLICKHOUSE_HTTP_PORT/?query=SELECT%20version()" 2>/dev/null) || return 1
  [[ -n $v ]] || return 1
  printf 'SELECT version() -> %s\n' "$v"
}
health_prometheus() {
  local body
  body=$(curl -fsS -m 5 "http://$HOST:$PROMETHEUS_PORT/api/v1/targets?state=active" 2>/dev/null) || return 1
  [[ $body == *'"status":"success"'* ]] || return 1
  printf '%s target(s) up, %s down\n' "$(grep -o '"health":"up"' <<<"$body" | wc -l)" "$(grep -o '"health":"down"' <<<"$body" | wc -l)"
}

version_kafka() {
  local v
  v=$(grep -ho 'Kafka version: [^ ,]*' "$(service_log kafka)" 2>/dev/null | tail -n 1 | sed 's/Kafka version: //')
  printf '%s' "${v:-unknown}"
}
version_registry() {
  local v
  v=$(curl -fsS -m 5 "$REGISTRY_URL_BASE/apis/registry/v3/system/info" 2>/dev/null |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
  [[ -n $v ]] || return 1
  local storage=in-memory
  if is_ours registry && tr '\0' ' ' <"/proc/$PID/cmdline" | grep -q 'jdbc:h2:file:'; then storage='H2 file'; fi
  printf 'Apicurio Registry %s (storage: %s)' "$v" "$storage"
}
version_redis() {
  timeout 5 redis-cli -h "$HOST" -p "$REDIS_PORT" INFO server 2>/dev/null | tr -d '\r' |
    sed -n 's/^redis_version:/redis-server /p'
}
version_clickhouse() {
  local v
  v=$(clickhouse_curl -fsS -m 5 "http://$HOST:$CLICKHOUSE_HTTP_PORT/?query=SELECT%20version()" 2>/dev/null) && printf 'ClickHouse %s' "$v"
}
version_prometheus() {
  local v
  v=$(curl -fsS -m 5 "http://$HOST:$PROMETHEUS_PORT/api/v1/status/buildinfo" 2>/dev/null | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
  [[ -n $v ]] && printf 'Prometheus %s' "$v"
}

# ---------------------------------------------------------------------------------------------
# Installation (only what is missing)
# ---------------------------------------------------------------------------------------------
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif have sudo; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

# apt-get install, without letting the packages start their system services (policy-rc.d 101),
# so no system redis/clickhouse is left running on the default ports.
apt_install() {
  local pkgs=("$@") policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
  note apt "installing ${pkgs[*]} (apt-get; log $LOG_DIR/install-apt.log)"
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\n# temporary, written by infra/stack.sh during apt-get install\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
  fi
  {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${pkgs[@]}"
  } >>"$LOG_DIR/install-apt.log" 2>&1 || rc=$?
  if [[ $added_policy == 1 ]]; then as_root rm -f "$policy"; fi
  if [[ $rc != 0 ]]; then
    note apt "apt-get failed (exit $rc)"; tail -n 20 "$LOG_DIR/install-apt.log" >&2; return 1
  fi
}

clickhouse_bin() {
  if have clickhouse-server; then command -v clickhouse-server
  elif [[ -x /usr/sbin/clickhouse-server ]]; then printf '/usr/sbin/clickhouse-server'
  elif have clickhouse; then printf '%s server' "$(command -v clickhouse)"
  else return 1; fi
}
prometheus_bin() {
  if have prometheus; then command -v prometheus
  elif [[ -x /usr/bin/prometheus ]]; then printf '/usr/bin/prometheus'
  else return 1; fi
}
# promtool (rule checks and rule unit tests) comes in the same Debian package.
promtool_bin() {
  if have promtool; then command -v promtool
  elif [[ -x /usr/bin/promtool ]]; then printf '/usr/bin/promtool'
  else return 1; fi
}
redis_bin() {
  if have redis-server; then command -v redis-server
  elif [[ -x /usr/bin/redis-server ]]; then printf '/usr/bin/redis-server'
  else return 1; fi
}

mvn_run() { # mvn_run <log> <args...>; C1-only JIT: these are short Maven runs, ~20% faster to start
  local log=$1; shift
  MAVEN_OPTS="${MAVEN_OPTS:-} -XX:TieredStopAtLevel=1" "$MVN" -B -q -Dstyle.color=never "$@" >>"$log" 2>&1
}

ensure_kafka() {
  if [[ -f $KAFKA_LIBS/.complete ]]; then return 0; fi
  have "$MVN" || { note kafka "Maven ($MVN) not found"; return 1; }
  local tmp="$KAFKA_LIBS.tmp.$$" log="$LOG_DIR/install-kafka.log"
  note kafka "fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS (log $log)"
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! mvn_run "$log" -f "$INFRA_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"; then
    note kafka "Maven failed"; tail -n 20 "$log" >&2; rm -rf "$tmp"; return 1
  fi
  [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || { note kafka "kafka_2.13-$KAFKA_VERSION.jar missing after Maven"; return 1; }
  rm -rf "$KAFKA_LIBS"; mv "$tmp" "$KAFKA_LIBS"; touch "$KAFKA_LIBS/.complete"
}

# Sets REGISTRY_HOME (unpacked archive) and REGISTRY_VERSION.
find_registry_cache() {
  local v
  for v in $APICURIO_VERSIONS; do
    if [[ -f $CACHE_DIR/apicurio-registry-$v/.complete ]]; then
      REGISTRY_HOME=$CACHE_DIR/apicurio-registry-$v REGISTRY_VERSION=$v; return 0
    fi
  done
  return 1
}

ensure_registry() {
  find_registry_cache && return 0
  have "$MVN" || { note registry "Maven ($MVN) not found"; return 1; }
  local v type dl log="$LOG_DIR/install-registry.log" archive dest
  dl="$CACHE_DIR/downloads"; mkdir -p "$dl"
  # tar.gz of every candidate first, then zip: a release normally has both, so a missing tar.gz
  # usually means a missing release, and each failed Maven probe costs a few seconds.
  for type in tar.gz zip; do
    for v in $APICURIO_VERSIONS; do
      note registry "fetching io.apicurio:apicurio-registry-app:$v:$type:all with Maven (log $log)"
      if mvn_run "$log" -f "$INFRA_DIR/registry/pom.xml" -Dapicurio.version="$v" -Dapicurio.type="$type" \
          -Dapicurio.outputDirectory="$dl" dependency:copy@fetch; then
        archive="$dl/apicurio-registry-app-$v-all.$type"
        dest="$CACHE_DIR/apicurio-registry-$v"
        rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
        if ! if [[ $type == tar.gz ]]; then tar -xzf "$archive" -C "$dest.tmp"
             elif have unzip; then unzip -q "$archive" -d "$dest.tmp"
             else python3 -m zipfile -e "$archive" "$dest.tmp"; fi; then
          note registry "could not unpack $archive"; rm -rf "$dest.tmp"; return 1
        fi
        rm -rf "$dest"; mv "$dest.tmp" "$dest"; touch "$dest/.complete"; rm -f "$archive"
        REGISTRY_HOME=$dest REGISTRY_VERSION=$v
        return 0
      fi
      note registry "not available: $v ($type)"
    done
  done
  note registry "could not fetch any of: $APICURIO_VERSIONS"; tail -n 20 "$log" >&2
  return 1
}

# Prints the java arguments that run the unpacked registry (fast-jar or legacy-jar layout).
registry_launcher() {
  local jar
  jar=$(find "$REGISTRY_HOME" -maxdepth 3 -path '*/quarkus-app/quarkus-run.jar' | head -n 1)
  [[ -n $jar ]] || jar=$(find "$REGISTRY_HOME" -maxdepth 2 -name '*-runner.jar' | head -n 1)
  [[ -n $jar ]] || return 1
  printf '%s' "$jar"
}

# ---------------------------------------------------------------------------------------------
# Starting each server
# ---------------------------------------------------------------------------------------------
kafka_cluster_id() { # Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && { printf '%s' "$id"; return; }
  done
}

start_kafka() {
  local dir="$STACK_DIR/kafka" conf data
  conf="$dir/config"; data="$dir/data"
  mkdir -p "$conf" "$data"
  cat >"$conf/server.properties" <<EOF
# generated by infra/stack.sh — edits are overwritten on every start
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=1073741824
EOF
  if [[ ! -f $data/meta.properties ]]; then
    format_kafka_storage kafka "$dir" --standalone --cluster-id "$(kafka_cluster_id)" || return 1
    printf '%s\n' "$KAFKA_CONTROLLER_PORT" >"$dir/formatted-controller-port"
  elif [[ -f $dir/formatted-controller-port && "$(cat "$dir/formatted-controller-port")" != "$KAFKA_CONTROLLER_PORT" ]]; then
    note kafka "warning: storage was formatted with controller port $(cat "$dir/formatted-controller-port"); if the broker does not come up, run 'npm run stack -- reset'"
  fi
  spawn_kafka kafka "$dir" "$KAFKA_HEAP"
}

# The broker's logging config (stdout, which spawn appends to logs/<name>.log).
write_kafka_log4j() {
  cat >"$1/log4j2.properties" <<'EOF'
# generated by infra/stack.sh — the broker logs to stdout, which stack.sh appends to logs/<name>.log
status = warn
# Keep logging through the broker's own shutdown hook (otherwise its last lines are lost).
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

# format_kafka_storage <name> <dir> <StorageTool format options...>: formats <dir>/data (KRaft) once.
format_kafka_storage() {
  local name=$1 dir=$2; shift 2
  write_kafka_log4j "$dir/config"
  note "$name" "formatting KRaft storage (kafka.tools.StorageTool format $*)"
  if ! (cd "$dir" && "$JAVA" -Xmx256m "-Dlog4j2.configurationFile=$dir/config/log4j2.properties" -cp "$KAFKA_LIBS/*" \
      kafka.tools.StorageTool format "$@" --config "$dir/config/server.properties" \
      >>"$(service_log "$name")" 2>&1 9>&-); then
    note "$name" "storage format failed"; tail_log "$name" 20; return 1
  fi
}

# spawn_kafka <name> <dir> <heap>: runs the broker of <dir>/config/server.properties.
spawn_kafka() {
  local name=$1 dir=$2 heap=$3
  write_kafka_log4j "$dir/config"
  local jvm=(-Xms256m "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/config/log4j2.properties" "-Dclm.stack.dir=$STACK_DIR")
  spawn "$name" "$dir" "$JAVA" "${jvm[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/config/server.properties"
}

start_registry() {
  local jar dir="$STACK_DIR/registry"
  jar=$(registry_launcher) || { note registry "no runnable jar under $REGISTRY_HOME"; return 1; }
  note registry "Apicurio Registry $REGISTRY_VERSION from $REGISTRY_HOME"
  local storage=()
  case $REGISTRY_STORAGE in
    file) mkdir -p "$dir/data"; storage=("-Dapicurio.datasource.url=jdbc:h2:file:$dir/data/registry") ;;
    memory) ;;
    *) note registry "CLM_REGISTRY_STORAGE must be 'file' or 'memory', not '$REGISTRY_STORAGE'"; return 1 ;;
  esac
  mkdir -p "$dir"
  spawn registry "$dir" "$JAVA" -Xms64m "-Xmx$REGISTRY_HEAP" -Djava.awt.headless=true "-Dclm.stack.dir=$STACK_DIR" \
    "-Dquarkus.http.host=$HOST" "-Dquarkus.http.port=$REGISTRY_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    ${storage[@]+"${storage[@]}"} \
    -jar "$jar"
}

start_redis() {
  local dir="$STACK_DIR/redis" bin
  bin=$(redis_bin) || { note redis "redis-server not found"; return 1; }
  mkdir -p "$dir/data"
  cat >"$dir/redis.conf" <<EOF
# generated by infra/stack.sh — edits are overwritten on every start
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize no
supervised no
logfile ""
loglevel notice
dir $dir/data
databases 16
save ""
appendonly yes
appendfilename "appendonly.aof"
appendfsync everysec
EOF
  spawn redis "$dir" "$bin" "$dir/redis.conf"
}

start_clickhouse() {
  start_clickhouse_server clickhouse "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT" "$CLICKHOUSE_INTERSERVER_PORT" ''
}
on_running_clickhouse() { write_clickhouse_users; }

# start_clickhouse_server <name> <http port> <tcp port> <interserver port or ''> <cluster XML or ''>: one
# server with its config (from infra/clickhouse/config.xml) and users file under $STACK_DIR/<name>/etc.
# The cluster XML (remote_servers and macros of the cluster profile) carries a password: owner-only file.
start_clickhouse_server() {
  local name=$1 http=$2 tcp=$3 interserver_port=$4 cluster=$5 dir="$STACK_DIR/$1" bin interserver='' config
  bin=$(clickhouse_bin) || { note "$name" "clickhouse-server not found"; return 1; }
  mkdir -p "$dir/etc" "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas"
  if [[ -n $interserver_port ]]; then
    interserver="<interserver_http_port>$interserver_port</interserver_http_port><interserver_http_host>$HOST</interserver_http_host>"
  fi
  config=$(sed -e "s|@LOG_DIR@|$LOG_DIR|g" -e "s|@NAME@|$name|g" -e "s|@DATA_DIR@|$dir/data|g" -e "s|@CONF_DIR@|$dir/etc|g" \
    -e "s|@HTTP_PORT@|$http|g" -e "s|@TCP_PORT@|$tcp|g" \
    -e "s|@INTERSERVER@|$interserver|g" "$INFRA_DIR/clickhouse/config.xml")
  (umask 077 && printf '%s\n' "${config//@CLUSTER@/$cluster}" >"$dir/etc/config.xml.tmp")
  mv "$dir/etc/config.xml.tmp" "$dir/etc/config.xml"
  write_clickhouse_users "$dir/etc"
  # shellcheck disable=SC2086 # $bin may be "clickhouse server"
  spawn "$name" "$dir" $bin "--config-file=$dir/etc/config.xml"
}

# The users file, from the template on every `up`, with the hashes of this stack dir's passwords. A running
# server rereads it by itself within seconds, so a server started before keeps running with the new file.
write_clickhouse_users() {
  local etc=${1:-$STACK_DIR/clickhouse/etc} default_hash analyst_hash
  mkdir -p "$etc"
  default_hash=$(sha256_hex "$(secret clickhouse-default)")
  analyst_hash=$(sha256_hex "$(secret clickhouse-analyst)")
  sed -e "s|@DEFAULT_PASSWORD_SHA256@|$default_hash|g" -e "s|@ANALYST_PASSWORD_SHA256@|$analyst_hash|g" \
    "$INFRA_DIR/clickhouse/users.xml" >"$etc/users.xml.tmp"
  mv "$etc/users.xml.tmp" "$etc/users.xml"
}

# Prometheus' config and the rules it loads, regenerated on every `up` (a running server reloads them).
write_prometheus_config() {
  local dir="$STACK_DIR/prometheus" target job port
  mkdir -p "$dir/data"
  if [[ -n $PROMETHEUS_ALERT_FOR ]]; then
    sed -E "s/^([[:space:]]*for:[[:space:]]*).*/\1$PROMETHEUS_ALERT_FOR/" "$INFRA_DIR/prometheus/alerts.yml" >"$dir/alerts.yml.tmp"
  else
    cp "$INFRA_DIR/prometheus/alerts.yml" "$dir/alerts.yml.tmp"
  fi
  mv "$dir/alerts.yml.tmp" "$dir/alerts.yml"
  {
    printf '# generated by infra/stack.sh: edits are overwritten on every up\n'
    printf 'global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n' \
      "$PROMETHEUS_SCRAPE_INTERVAL" "$PROMETHEUS_SCRAPE_INTERVAL" "$PROMETHEUS_EVALUATION_INTERVAL"
    printf 'rule_files:\n  - %s/alerts.yml\nscrape_configs:\n' "$dir"
    for target in "${PROMETHEUS_TARGETS[@]}"; do
      read -r job port <<<"$target"
      printf '  - job_name: %s\n    static_configs:\n      - targets: ["%s:%s"]\n' "$job" "$HOST" "$port"
    done
  } >"$dir/prometheus.yml.tmp"
  mv "$dir/prometheus.yml.tmp" "$dir/prometheus.yml"
}

start_prometheus() {
  local dir="$STACK_DIR/prometheus" bin
  bin=$(prometheus_bin) || { note prometheus "prometheus not found"; return 1; }
  write_prometheus_config
  # A plain process, not Debian's systemd unit: own config, data under the stack dir, loopback only.
  spawn prometheus "$dir" "$bin" "--config.file=$dir/prometheus.yml" "--storage.tsdb.path=$dir/data" \
    --storage.tsdb.retention.time=2d "--web.listen-address=$HOST:$PROMETHEUS_PORT" --web.enable-lifecycle
}

# Already running: the new config and rules (targets, `for:` profile) take effect without a restart.
on_running_prometheus() { reload_prometheus; }
reload_prometheus() {
  write_prometheus_config
  curl -fsS -m 10 -X POST "http://$HOST:$PROMETHEUS_PORT/-/reload" >/dev/null || note prometheus "reload failed"
}

# Wait until a server answers a real request; fail early if its process dies.
wait_ready() {
  local name=$1 t0=$SECONDS detail op=health
  # A server may be ready for the next step before it is healthy (a Redis node before its cluster exists).
  if server_has ready "$name"; then op=ready; fi
  while :; do
    if detail=$(server_do "$op" "$name"); then
      note "$name" "ready in $((SECONDS - t0))s: $detail"
      return 0
    fi
    if ! is_ours "$name"; then
      note "$name" "process exited before answering"; tail_log "$name" 40
      rm -f "$PID_DIR/$name.pid"; return 1
    fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then
      note "$name" "no answer after ${START_TIMEOUT}s (still running as pid $PID; 'npm run stack -- down$PROFILE_ARG' stops it)"
      tail_log "$name" 40; return 1
    fi
    sleep 1
  done
}

post_start_clickhouse() {
  clickhouse_curl -fsS -m 10 "http://$HOST:$CLICKHOUSE_HTTP_PORT/" --data-binary "CREATE DATABASE IF NOT EXISTS $CLICKHOUSE_DATABASE" >/dev/null ||
    { note clickhouse "CREATE DATABASE $CLICKHOUSE_DATABASE failed"; return 1; }
}

# The registry's global compatibility rule, so a new subject is BACKWARD from its first version, as each
# project subject is. The start option -Dapicurio.rules.global.compatibility sets the rule Apicurio applies,
# but its Confluent API still reports NONE for it (GET /config) until the rule is set through that API.
post_start_registry() {
  curl -fsS -m 10 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data '{"compatibility":"BACKWARD"}' "$CCOMPAT_URL/config" >/dev/null ||
    { note registry 'PUT /config {"compatibility":"BACKWARD"} failed'; return 1; }
}

result() { printf '%s\n' "$2" >"$RUN_DIR/$1.result"; }

# Bring one server up (the install step has run already). Writes run/<name>.result.
bring_up() {
  local name=$1
  if ! is_ours "$name"; then
    server_do start "$name" || { result "$name" failed; return 0; }
  else
    note "$name" "already running (pid $PID)"
    if server_has on_running "$name"; then server_do on_running "$name"; fi
  fi
  if wait_ready "$name"; then
    if server_has post_start "$name" && ! server_do post_start "$name"; then
      result "$name" failed; return 0
    fi
    result "$name" ok
  else
    result "$name" failed
  fi
}

# The servers this command works on (set by `up`/`install` from their arguments).
SELECTED=()
selected() { local s; for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
# The selected servers of one kind (kafka: kafka, or kafka-1 kafka-2 ... in the cluster profile).
selected_of() { local s; for s in "${SELECTED[@]}"; do [[ $(kind_of "$s") != "$1" ]] || printf '%s\n' "$s"; done; }
selected_kind() { [[ -n $(selected_of "$1") ]]; }

# SELECTED from a command's arguments: the servers named, or DEFAULT_SERVERS.
select_servers() {
  local name
  for name in "$@"; do is_service "$name" || die "unknown server $name (expected: ${SERVICES[*]})"; done
  if (($#)); then SELECTED=("$@"); else SELECTED=("${DEFAULT_SERVERS[@]}"); fi
}

# One apt-get for the Debian packages missing among those selected; prometheus always (its promtool
# checks the alert rules in the unit tests, so it is installed even when not started).
install_native() {
  local missing=()
  if selected_kind redis && ! redis_bin >/dev/null; then missing+=(redis-server); fi
  if selected_kind clickhouse && ! clickhouse_bin >/dev/null; then missing+=(clickhouse-server); fi
  if ! prometheus_bin >/dev/null || ! promtool_bin >/dev/null; then missing+=(prometheus); fi
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# Debian-packaged servers: install what is missing, then start those selected.
chain_native() {
  local s pids=() natives=()
  for s in "${SELECTED[@]}"; do case $(kind_of "$s") in redis | clickhouse | prometheus) natives+=("$s") ;; esac; done
  if ! install_native; then
    for s in ${natives[@]+"${natives[@]}"}; do result "$s" failed; done
    return 0
  fi
  for s in ${natives[@]+"${natives[@]}"}; do bring_up "$s" & pids+=($!); done
  ((${#pids[@]} == 0)) || wait "${pids[@]}"
  # The cluster profile's cluster-wide step once its members run (creating the Redis Cluster, ...).
  if [[ $(type -t cluster_after_native) == function ]]; then cluster_after_native; fi
}

# Java servers: Kafka jars first (the broker boots while the registry downloads), then the registry.
# Every broker of the cluster profile starts at once: none is ready before a quorum of controllers runs.
chain_java() {
  local kafka_pids=() s
  if selected_kind kafka; then
    if ensure_kafka; then
      for s in $(selected_of kafka); do bring_up "$s" & kafka_pids+=($!); done
    else
      for s in $(selected_of kafka); do result "$s" failed; done
    fi
  fi
  if selected registry; then
    if ensure_registry; then bring_up registry
    else result registry failed; fi
  fi
  ((${#kafka_pids[@]} == 0)) || wait "${kafka_pids[@]}"
  if [[ $(type -t cluster_after_java) == function ]]; then cluster_after_java; fi
}

# The env file holds the passwords: written readable by its owner only, and replaced whole (a file of an
# earlier stack version keeps no wider mode).
write_env() {
  local default_password analyst_password
  default_password=$(secret clickhouse-default)
  analyst_password=$(secret clickhouse-analyst)
  (
    umask 077
    {
      printf '# generated by infra/stack.sh up — load with:  set -a; . %s/env; set +a\n' "$STACK_DIR"
      if [[ $PROFILE == cluster ]]; then cluster_env_lines
      else
        printf 'export KAFKA_BROKERS=%s:%s\n' "$HOST" "$KAFKA_PORT"
        printf 'export SCHEMA_REGISTRY_URL=%s\n' "$CCOMPAT_URL"
        printf 'export REDIS_URL=redis://%s:%s\n' "$HOST" "$REDIS_PORT"
        printf 'export CLICKHOUSE_URL=http://%s:%s\n' "$HOST" "$CLICKHOUSE_HTTP_PORT"
      fi
      printf 'export CLICKHOUSE_USER=default\n'
      printf 'export CLICKHOUSE_PASSWORD=%s\n' "$default_password"
      printf 'export CLICKHOUSE_ANALYST_PASSWORD=%s\n' "$analyst_password"
      printf 'export CLICKHOUSE_DATABASE=%s\n' "$CLICKHOUSE_DATABASE"
    } >"$STACK_DIR/env.tmp"
    mv "$STACK_DIR/env.tmp" "$STACK_DIR/env"
  )
}

take_lock() {
  exec 9>"$STACK_DIR/.lock"
  if have flock && ! flock -n 9; then die "another 'stack.sh' command is running on $STACK_DIR"; fi
}

check_ports_unique() {
  local dup
  dup=$(for s in "${SELECTED[@]}"; do service_ports "$s"; done | awk '{print $1}' | sort | uniq -d | head -n 1)
  [[ -z $dup ]] || die "port $dup is configured for two servers; check the CLM_*_PORT variables"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
cmd_install() {
  mkdir -p "$LOG_DIR" "$CACHE_DIR"
  select_servers "$@"
  install_native || die "apt-get install failed"
  if selected_kind kafka; then ensure_kafka || die "fetching Kafka failed"; fi
  if selected registry; then ensure_registry || die "fetching the registry failed"; fi
  say "installed: ${SELECTED[*]} (promtool: $(promtool_bin))"
}

cmd_up() {
  mkdir -p "$LOG_DIR" "$PID_DIR" "$RUN_DIR" "$CACHE_DIR"
  take_lock
  select_servers "$@"
  check_ports_unique
  have curl || die "curl is required"
  have node || die "node is required (the Kafka health check uses kafkajs from node_modules)"
  have setsid || die "setsid (util-linux) is required"
  [[ -d $REPO_ROOT/node_modules/kafkajs ]] || die "node_modules/kafkajs missing: run npm ci first"
  if selected_kind kafka || selected registry; then
    have "$JAVA" || die "java not found (JAVA_HOME / CLM_JAVA); Java 17+ is required"
    local jm; jm=$(java_major)
    [[ ${jm:-0} -ge 17 ]] || die "Java 17+ required, $JAVA is version ${jm:-unknown}"
  fi

  # Refuse to start over somebody else's port.
  local s port var problems=() holder
  local was
  for s in "${SELECTED[@]}"; do
    if is_ours "$s"; then
      was=$(cat "$PID_DIR/$s.ports" 2>/dev/null || true)
      if [[ -n $was && $was != "$(ports_sig "$s")" ]]; then
        problems+=("$s is already running (pid $PID) on port(s) $was, but the settings now say $(ports_sig "$s"); run 'npm run stack -- down$PROFILE_ARG' first, or keep the same CLM_*_PORT values")
      fi
      continue
    fi
    while read -r port var; do
      if port_open "$port"; then
        holder=$(port_holder "$port")
        problems+=("port $port ($s) is already in use${holder:+ by $holder}, not by this stack; set $var to another port")
      fi
    done < <(service_ports "$s")
  done
  if ((${#problems[@]})); then
    printf 'stack: error: %s\n' "${problems[@]}" >&2
    exit 1
  fi

  write_env
  for s in "${SELECTED[@]}"; do rm -f "$RUN_DIR/$s.result"; done
  local t0=$SECONDS
  chain_native & local native=$!
  chain_java & local javas=$!
  wait "$native" || true
  wait "$javas" || true

  local failed=0 r
  say ""
  say "local stack ($STACK_DIR), up in $((SECONDS - t0))s:"
  for s in "${SELECTED[@]}"; do
    r=$(cat "$RUN_DIR/$s.result" 2>/dev/null || echo failed)
    if [[ $r == ok ]]; then
      is_ours "$s" || true
      printf '  %-*s %-6s pid %-7s %-58s %s\n' "$NAME_WIDTH" "$s" ok "${PID:-?}" "$(service_url "$s")" "$(server_do version "$s")"
    else
      failed=1
      printf '  %-*s %-6s %s (see: npm run stack -- logs %s%s)\n' "$NAME_WIDTH" "$s" FAILED "$(service_url "$s")" "$s" "$PROFILE_ARG"
    fi
  done
  # The cluster profile: one line per cluster (brokers, Redis Cluster, ClickHouse shards).
  if [[ $(type -t cluster_summary) == function ]] && ! cluster_summary; then failed=1; fi
  say "env: $STACK_DIR/env   (load with: set -a; . $STACK_DIR/env; set +a)"
  return "$failed"
}

stop_one_begin() { # sends TERM; prints "name pid pgid"
  local name=$1
  if ! is_ours "$name"; then
    [[ -f $PID_DIR/$name.pid ]] && { note "$name" "stale pid file removed"; rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.ports"; }
    return 0
  fi
  if [[ $PGID == "$PID" ]]; then kill -TERM -- "-$PGID" 2>/dev/null || true
  else kill -TERM "$PID" 2>/dev/null || true; fi
  printf '%s %s %s\n' "$name" "$PID" "$PGID"
}

group_alive() { # pid pgid: true while the process or (for our own session) any live member of its group remains
  proc_alive "$1" && return 0
  [[ $2 == "$1" ]] && ps -e -o pgid=,stat= | awk -v g="$2" '$1 == g && $2 !~ /^Z/ {found=1} END {exit !found}'
}

cmd_down() {
  mkdir -p "$PID_DIR"
  take_lock
  local stopping=() line name pid pgid t0=$SECONDS
  # `down [name...]` stops only those servers (tests stop one to prove recovery); `up` starts them again.
  local names=("$@")
  ((${#names[@]})) || names=("${SERVICES[@]}")
  for name in "${names[@]}"; do
    is_service "$name" || die "unknown server $name (expected: ${SERVICES[*]})"
  done
  for name in "${names[@]}"; do
    line=$(stop_one_begin "$name")
    [[ -z $line ]] || { stopping+=("$line"); read -r _ pid pgid <<<"$line"; note "$name" "stopping pid $pid (TERM to process group $pgid)"; }
  done
  if ((${#stopping[@]} == 0)); then say "nothing running"; return 0; fi
  # True while any server being stopped still has a live process.
  any_alive() {
    local entry _name _pid _pgid
    for entry in "${stopping[@]}"; do
      read -r _name _pid _pgid <<<"$entry"
      group_alive "$_pid" "$_pgid" && return 0
    done
    return 1
  }
  while :; do
    any_alive || break
    if ((SECONDS - t0 >= STOP_TIMEOUT)); then
      for line in "${stopping[@]}"; do
        read -r name pid pgid <<<"$line"
        if group_alive "$pid" "$pgid"; then
          note "$name" "still running after ${STOP_TIMEOUT}s: KILL"
          if [[ $pgid == "$pid" ]]; then kill -KILL -- "-$pgid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
        fi
      done
      local _
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        any_alive || break
        sleep 0.5
      done
      break
    fi
    sleep 0.3
  done
  local left=0
  for line in "${stopping[@]}"; do
    read -r name pid pgid <<<"$line"
    if group_alive "$pid" "$pgid"; then
      left=1; note "$name" "ERROR: pid $pid / process group $pgid still has processes"
    else
      rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.ports"; note "$name" "stopped"
    fi
  done
  say "stopped in $((SECONDS - t0))s (data kept in $STACK_DIR)"
  return "$left"
}

json_str() { local s=$1; s=${s//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

cmd_status() {
  local json=0
  [[ ${1:-} == --json ]] && json=1
  local s state pid healthy detail version bad=0 first=1
  ((json)) && printf '{"stackDir":%s,"services":[' "$(json_str "$STACK_DIR")"
  for s in "${SERVICES[@]}"; do
    pid='' detail='' version='' healthy=false
    if is_ours "$s"; then state=running pid=$PID
    elif [[ -f $PID_DIR/$s.pid ]]; then state='stopped (stale pid file)'
    else state=stopped; fi
    if detail=$(server_do health "$s"); then
      healthy=true; version=$(server_do version "$s" || true)
      # Something answers, but not a process of this stack: say so.
      [[ $state == running ]] || state="not ours (port answers, no stack process)"
    else detail=''; fi
    # A server `up` does not start by default counts only while it runs.
    if [[ $state == stopped ]] && ! is_default "$s"; then state='stopped (optional)'
    elif [[ $state != running || $healthy != true ]]; then bad=1; fi
    if ((json)); then
      ((first)) || printf ','
      first=0
      printf '{"name":%s,"state":%s,"pid":%s,"url":%s,"healthy":%s,"version":%s,"detail":%s}' \
        "$(json_str "$s")" "$(json_str "$state")" "${pid:-null}" "$(json_str "$(service_url "$s")")" "$healthy" \
        "$(json_str "$version")" "$(json_str "$detail")"
    else
      printf '%-*s %-9s pid %-7s %-58s %s\n' "$NAME_WIDTH" "$s" "$state" "${pid:--}" "$(service_url "$s")" \
        "$(if [[ $healthy == true ]]; then printf 'healthy  %s  (%s)' "$version" "$detail"
           elif [[ $state == 'stopped (optional)' ]]; then printf 'not started (npm run stack -- up %s)' "$s"
           else printf 'NOT healthy'; fi)"
    fi
  done
  if ((json)); then printf '],"ok":%s}\n' "$([[ $bad == 0 ]] && echo true || echo false)"; fi
  return "$bad"
}

cmd_logs() {
  local follow=0 names=() a f files=()
  for a in "$@"; do
    case $a in
      -f | --follow) follow=1 ;;
      *) is_service "$a" || die "unknown server '$a' (one of: ${SERVICES[*]})"; names+=("$a") ;;
    esac
  done
  ((${#names[@]})) || names=("${SERVICES[@]}")
  for a in "${names[@]}"; do
    for f in "$(service_log "$a")" "$LOG_DIR/$a.err.log"; do [[ -f $f ]] && files+=("$f"); done
  done
  ((${#files[@]})) || die "no logs yet in $LOG_DIR"
  if ((follow)); then exec tail -n "${CLM_LOG_LINES:-50}" -F "${files[@]}"
  else tail -n "${CLM_LOG_LINES:-50}" "${files[@]}"; fi
}

cmd_reset() {
  cmd_down || die "could not stop everything; data not deleted"
  local d
  for d in "${SERVICES[@]}" ${STACK_DATA_EXTRA[@]+"${STACK_DATA_EXTRA[@]}"} logs pids run; do rm -rf "${STACK_DIR:?}/$d"; done
  rm -f "$STACK_DIR/env"
  say "data deleted from $STACK_DIR (download cache kept in $CACHE_DIR)"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    install) cmd_install "$@" ;;
    down | stop) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    reset) cmd_reset "$@" ;;
    -h | --help | help | '') usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
