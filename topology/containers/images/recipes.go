package images

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kongchaos/kong/topology"
)

// javaLayer is the first step of both Java images, written the same so
// that the engine builds it once: Java 17 and what the images' scripts
// and health checks run (curl, Python 3 for cqlsh).
const javaLayer = `RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless python3 curl procps \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
`

func recipeOf(role string, in Inputs) (recipe, error) {
	need := func(what, path string) error {
		if path == "" {
			return fmt.Errorf("the %s image needs %s, and none was given", role, what)
		}
		return nil
	}
	switch role {
	case RoleCassandra:
		for what, p := range map[string]string{"Cassandra's jars": in.CassandraLib, "the jamm agent": in.JammAgent, "cqlsh": in.CqlshSitePackages} {
			if err := need(what, p); err != nil {
				return recipe{}, err
			}
		}
		return recipe{
			dockerfile: "FROM " + Base + "\n" + javaLayer + `COPY lib/ /opt/cassandra/lib/
COPY cqlsh/ /opt/cqlsh/
COPY logback.xml /etc/cassandra/logback.xml
COPY cqlsh.sh /usr/local/bin/cqlsh
COPY nodetool.sh /usr/local/bin/nodetool
COPY cassandra.sh /usr/local/bin/kong-cassandra
RUN mkdir -p /var/lib/cassandra /var/log/cassandra
VOLUME /var/lib/cassandra
EXPOSE 7000 7199 9042
ENTRYPOINT ["/usr/local/bin/kong-cassandra"]
`,
			files: map[string]string{
				"cassandra.sh": cassandraScript(filepath.Base(in.JammAgent)),
				"cqlsh.sh":     "#!/bin/sh\n# cqlsh of Apache Cassandra 5.0, from PyPI, on Debian's Python 3.\nPYTHONPATH=/opt/cqlsh exec python3 -m cqlshlib \"$@\"\n",
				"logback.xml":  cassandraLogback,
				"nodetool.sh":  nodetoolScript(),
			},
			copies: map[string]string{"lib": in.CassandraLib, "cqlsh": in.CqlshSitePackages},
		}, nil
	case RoleSQS:
		if err := need("ElasticMQ's jars", in.ElasticMQLib); err != nil {
			return recipe{}, err
		}
		return recipe{
			dockerfile: "FROM " + Base + "\n" + javaLayer + `COPY lib/ /opt/elasticmq/lib/
COPY elasticmq.sh /usr/local/bin/kong-elasticmq
RUN mkdir -p /etc/localstack/init/ready.d
EXPOSE 4566
ENTRYPOINT ["/usr/local/bin/kong-elasticmq"]
`,
			files:  map[string]string{"elasticmq.sh": elasticMQScript},
			copies: map[string]string{"lib": in.ElasticMQLib},
		}, nil
	case RoleMemcached:
		return recipe{dockerfile: "FROM " + Base + `
RUN apt-get update \
 && apt-get install -y --no-install-recommends memcached \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER memcache
EXPOSE 11211
CMD ["memcached"]
`}, nil
	case RoleToxiproxy:
		if err := need("the toxiproxy server executable", in.Toxiproxy); err != nil {
			return recipe{}, err
		}
		return recipe{dockerfile: `FROM scratch
COPY toxiproxy /toxiproxy
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
`, copies: map[string]string{"toxiproxy": in.Toxiproxy}}, nil
	case RoleKong:
		if err := need("the kong executable", in.Kong); err != nil {
			return recipe{}, err
		}
		return recipe{dockerfile: "FROM " + Base + `
COPY kong /usr/local/bin/kong
ENTRYPOINT ["/usr/local/bin/kong"]
CMD ["--help"]
`, copies: map[string]string{"kong": in.Kong}}, nil
	}
	return recipe{}, fmt.Errorf("no image recipe for role %q", role)
}

// scratchKong is the kong image of a static kong executable with no
// base image: the executable and an empty /tmp.
func scratchKong(kong string) recipe {
	return recipe{dockerfile: `FROM scratch
COPY kong /usr/local/bin/kong
COPY tmp/ /tmp/
ENTRYPOINT ["/usr/local/bin/kong"]
CMD ["--help"]
`, copies: map[string]string{"kong": kong}, dirs: []string{"tmp"}}
}

// cassandraScript starts Cassandra in the foreground with the flags the
// local backend uses, then JVM_OPTS (the official image's variable; the
// container backend puts the node's properties there), heap MAX_HEAP_SIZE.
// HEAP_NEWSIZE is taken and, as the official image does under G1, unused.
func cassandraScript(jamm string) string {
	// One flag a line; a module flag and its value share theirs.
	q := func(flags []string) string {
		var lines []string
		for i := 0; i < len(flags); i++ {
			if strings.HasPrefix(flags[i], "--add-") && i+1 < len(flags) {
				lines = append(lines, flags[i]+" "+flags[i+1])
				i++
				continue
			}
			lines = append(lines, flags[i])
		}
		return strings.Join(lines, " \\\n  ")
	}
	return `#!/bin/sh
# kong's Cassandra 5.0 image (kong images build): Apache Cassandra's jars
# from Maven Central on Debian's Java 17.
set -eu
heap="${MAX_HEAP_SIZE:-1G}"
lib=/opt/cassandra/lib
# JVM_OPTS is split into words on purpose: it holds several flags.
# shellcheck disable=SC2086
set -f
exec java -Xms"$heap" -Xmx"$heap" \
  ` + q(topology.CassandraJVMFlags) + ` \
  -Dcassandra-foreground=yes \
  -Dcassandra.config=file:///etc/cassandra/` + topology.CassandraYAMLFile + ` \
  -Dcassandra-rackdc.properties=file:///etc/cassandra/` + topology.CassandraRackDCFile + ` \
  -Dlogback.configurationFile=file:///etc/cassandra/logback.xml \
  -Dcassandra.logdir=/var/log/cassandra \
  -Dcassandra.storagedir=/var/lib/cassandra \
  -Dcassandra.jmx.local.port=7199 \
  -javaagent:"$lib/` + jamm + `" \
  ` + q(topology.CassandraJava17Flags) + ` \
  ${JVM_OPTS:-} \
  -cp "/etc/cassandra:$lib/*" org.apache.cassandra.service.CassandraDaemon
`
}

// nodetoolScript runs Cassandra's nodetool from the image's jars, against
// the node in the container (JMX on 127.0.0.1:7199) unless told otherwise.
func nodetoolScript() string {
	return `#!/bin/sh
# nodetool of Apache Cassandra 5.0, from the image's jars.
exec java -Xmx256m -XX:TieredStopAtLevel=1 ` + strings.Join(topology.CassandraJava17Flags, " ") + ` \
  -cp "/opt/cassandra/lib/*" org.apache.cassandra.tools.NodeTool "$@"
`
}

// cassandraLogback logs to the console (the engine keeps it) and to
// system_views.system_logs.
var cassandraLogback = topology.CassandraLogback(topology.CassandraConsoleLog)

// elasticMQScript runs ElasticMQ behind LocalStack's interface: port 4566
// on every address, queue URLs at LOCALSTACK_HOST, and every executable
// script in /etc/localstack/init/ready.d run once it answers (on every
// start, as LocalStack does). It ends when ElasticMQ does.
const elasticMQScript = `#!/bin/sh
# kong's SQS image (kong images build): ElasticMQ's jars from Maven Central
# on Debian's Java 17, started the way LocalStack's image is configured.
set -u
addr="${LOCALSTACK_HOST:-localhost:4566}"
host="${addr%:*}"
conf=/tmp/elasticmq.conf
cat > "$conf" <<EOF
include classpath("application.conf")
node-address { protocol = http, host = "$host", port = 4566, context-path = "" }
rest-sqs { enabled = true, bind-port = 4566, bind-hostname = "0.0.0.0", sqs-limits = strict }
rest-stats { enabled = false }
generate-node-address = false
aws { region = "${AWS_DEFAULT_REGION:-us-east-1}", accountId = "000000000000" }
EOF
pid=
stop() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; }
trap stop TERM INT
java -Xms"${SQS_HEAP:-64m}" -Xmx"${SQS_HEAP:-64m}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -XX:+PerfDisableSharedMem -Djava.net.preferIPv4Stack=true -Dconfig.file="$conf" \
  -cp "/opt/elasticmq/lib/*" org.elasticmq.server.Main &
pid=$!
until curl -s --max-time 2 -o /dev/null http://localhost:4566/; do
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }
  sleep 0.2
done
for f in /etc/localstack/init/ready.d/*; do
  [ -x "$f" ] || continue
  "$f" || echo "init script $f failed (exit $?)" >&2
done
echo "Ready."
wait "$pid"
status=$?
# A signal ended the first wait: wait for ElasticMQ itself to end.
kill -0 "$pid" 2>/dev/null && wait "$pid"
exit "$status"
`
