#!/usr/bin/env bash
# A broker of docker-compose.yml (the center's, `kafka`, and a department's own, e.g. `kafka-urban`, named
# by KAFKA_ADVERTISED_HOST), secured as deploy/kafka_local.py secures the local one (keep the two in
# step): SASL/SCRAM-SHA-512 for clients, the KRaft StandardAuthorizer, `admin` the only super user,
# the controller listener on SASL/PLAIN with the admin alone. The SCRAM users are made when the data
# directory is first formatted, which the image's own launcher cannot do:
# KAFKA_ADMIN_PASSWORD, and LIANBAN_KAFKA_USERS as "name=password" pairs separated by blanks. A user
# added later to an existing volume: kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=...]'
# --entity-type users --entity-name <name>. The ACLs are the kafka-setup service's (deploy/kafka_acls.py),
# on a department's broker its kafka-<department>-setup's (deploy/compose/department_setup.py).
set -euo pipefail

home="${KAFKA_HOME:-/opt/kafka}"
data="${KAFKA_DATA_DIR:-/var/lib/kafka/data}"
config="${KAFKA_CONFIG_DIR:-/tmp/lianban-kafka}"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
advertised="${KAFKA_ADVERTISED_HOST:-kafka}"
admin_password="${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is needed}"

mkdir -p "$config"
umask 077
cat > "$config/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=CLIENTS://0.0.0.0:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=CLIENTS://$advertised:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENTS
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENTS:SASL_PLAINTEXT
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_password" user_admin="$admin_password";
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.clients.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs=$data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF

# What the healthcheck and an operator's kafka-*.sh --command-config connect with.
cat > "$config/admin.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
EOF

if [[ ! -e "$data/meta.properties" ]]; then
  users=(--add-scram "SCRAM-SHA-512=[name=admin,password=$admin_password]")
  for pair in ${LIANBAN_KAFKA_USERS:-}; do
    users+=(--add-scram "SCRAM-SHA-512=[name=${pair%%=*},password=${pair#*=}]")
  done
  "$home/bin/kafka-storage.sh" format -t "$("$home/bin/kafka-storage.sh" random-uuid)" -c "$config/server.properties" \
    --standalone "${users[@]}" > /dev/null  # it prints the SCRAM records
fi
exec "$home/bin/kafka-server-start.sh" "$config/server.properties"
