#!/usr/bin/env bash
# MirrorMaker 2 between the center's broker and a department's own in docker-compose.yml, run from the
# apache/kafka image with the very properties `make run` gives it: deploy/mirror_maker.py's
# MirrorLink.properties() (keep the two in step; tests/unit/test_docs.py runs this script and compares).
# Topic names are the same on both clusters; on the center it connects as the department's principal, on the
# department's cluster as `mirror-maker`; its Connect topics and worker group are those the ACLs grant
# (deploy/kafka_acls.py: kafka-setup on the center, deploy/compose/department_setup.py on the department's).
# The mirrored topics are made beforehand by the department's setup, as MirrorLink.start does.
set -euo pipefail

home="${KAFKA_HOME:-/opt/kafka}"
config="${KAFKA_CONFIG_DIR:-/tmp/lianban-mirror}"
center="${LIANBAN_CENTER:?LIANBAN_CENTER is needed}"
department="${LIANBAN_MIRROR_DEPARTMENT:?LIANBAN_MIRROR_DEPARTMENT is needed}"
center_bootstrap="${LIANBAN_MIRROR_CENTER_BOOTSTRAP:?LIANBAN_MIRROR_CENTER_BOOTSTRAP is needed}"
center_password="${LIANBAN_MIRROR_CENTER_PASSWORD:?LIANBAN_MIRROR_CENTER_PASSWORD is needed}"
department_bootstrap="${LIANBAN_MIRROR_DEPARTMENT_BOOTSTRAP:?LIANBAN_MIRROR_DEPARTMENT_BOOTSTRAP is needed}"
department_password="${LIANBAN_MIRROR_DEPARTMENT_PASSWORD:?LIANBAN_MIRROR_DEPARTMENT_PASSWORD is needed}"

topic() { printf 'lianban.%s.%s.%s' "$center" "$1" "$department"; }  # shared/topics.py
listed() { printf '%s' "$1, $2" | sed 's/\./[.]/g'; }                  # each name exactly, its dots literal
quoted() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }                   # a JAAS option's value
property() { printf '%s = %s\n' "$1" "$(printf '%s' "$2" | sed 's/\\/\\\\/g')"; }  # as Properties reads it back

client() {  # one cluster, by its alias: how to reach it, as whom, and its flow's Connect worker
  local alias="$1" bootstrap="$2" user="$3" password="$4" internal="lianban.$center.mirror.$department."
  property "$alias.bootstrap.servers" "$bootstrap"
  property "$alias.security.protocol" "SASL_PLAINTEXT"
  property "$alias.sasl.mechanism" "SCRAM-SHA-512"
  property "$alias.sasl.jaas.config" \
    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$(quoted "$user")\" password=\"$(quoted "$password")\";"
  property "$alias.plugin.discovery" "service_load"
  property "$alias.offset.flush.interval.ms" "1000"
  property "$alias.scheduled.rebalance.max.delay.ms" "0"
  property "$alias.session.timeout.ms" "6000"
  property "$alias.heartbeat.interval.ms" "2000"
  property "$alias.group.id" "lianban-$center-adapter-$department.mirror"
  property "$alias.config.storage.topic" "${internal}configs"
  property "$alias.offset.storage.topic" "${internal}offsets"
  property "$alias.status.storage.topic" "${internal}status"
}

mkdir -p "$config"
umask 077  # it holds both passwords
{
  property clusters "$center, $department"
  cat <<'COMMON'
plugin.discovery = service_load
replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
key.converter = org.apache.kafka.connect.converters.ByteArrayConverter
value.converter = org.apache.kafka.connect.converters.ByteArrayConverter
header.converter = org.apache.kafka.connect.converters.ByteArrayConverter
emit.heartbeats.enabled = false
emit.checkpoints.enabled = false
emit.offset-syncs.enabled = false
sync.group.offsets.enabled = false
sync.topic.configs.enabled = false
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 30
tasks.max = 1
replication.factor = 1
heartbeats.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
config.storage.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
offset.storage.partitions = 1
status.storage.partitions = 1
COMMON
  client "$center" "$center_bootstrap" "department-$department" "$center_password"
  client "$department" "$department_bootstrap" "mirror-maker" "$department_password"
  property "$center->$department.enabled" "true"
  property "$center->$department.topics" "$(listed "$(topic work)" "$(topic feedback)")"
  property "$department->$center.enabled" "true"
  property "$department->$center.topics" "$(listed "$(topic actions)" "$(topic acks)")"
} > "$config/mm2.properties"

cat > "$config/log4j2.properties" <<'EOF_LOG'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.mirror.name = org.apache.kafka.connect.mirror
logger.mirror.level = info
EOF_LOG

# deploy/mirror_maker.py's JVM_OPTIONS: small, quick to start.
export KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=file:$config/log4j2.properties"
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms64m -Xmx384m}"
export KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
exec "$home/bin/connect-mirror-maker.sh" "$config/mm2.properties"
