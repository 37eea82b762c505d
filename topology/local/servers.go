package local

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

// cassandraCommand writes a node's configuration under dir and returns the
// command line that starts it. The node maps the class-data archive when
// it is built; otherwise, when classList is not "", it records the classes
// it loads there, for BuildClassArchive.
func cassandraCommand(a *assets.Paths, p *topology.Plan, n topology.CassandraNode, world, dir, classList string) ([]string, error) {
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{conf, filepath.Join(dir, "data"), filepath.Join(dir, "logs"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := p.Spec
	data := filepath.Join(dir, "data")
	cfg := p.CassandraConfig(n, topology.CassandraSite{World: world, ConfDir: conf, DataDir: data, RPCAddress: n.Listen})
	files := map[string]string{topology.CassandraYAMLFile: cfg.YAML, topology.CassandraRackDCFile: cfg.RackDC,
		"logback.xml": cassandraLogback(filepath.Join(dir, "logs"), consoleLogMax, consoleLogKeep)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(body), 0o644); err != nil {
			return nil, fmt.Errorf("write %s of %s: %w", name, n.ID, err)
		}
	}
	heap := s.Cassandra.Heap
	argv := append([]string{a.Java, "-Xms" + heap, "-Xmx" + heap}, topology.CassandraJVMFlags...)
	if flag := a.ClassArchiveFlag(); flag != "" {
		argv = append(argv, flag)
	} else if classList != "" {
		argv = append(argv, "-XX:DumpLoadedClassList="+classList)
	}
	argv = append(argv, cfg.Props...)
	argv = append(argv,
		"-Dcassandra-foreground=yes",
		"-Dlogback.configurationFile=file://"+filepath.Join(conf, "logback.xml"),
		"-Dcassandra.logdir="+filepath.Join(dir, "logs"),
		"-Dcassandra.storagedir="+data,
		// Native libraries (lz4, snappy) unpack into the node's own
		// folder, which kong down removes, not into the machine's /tmp.
		"-Djava.io.tmpdir="+filepath.Join(dir, "tmp"),
		"-Dcassandra.jmx.local.port="+strconv.Itoa(n.JMXPort),
		"-javaagent:"+a.JammAgent,
	)
	argv = append(argv, topology.CassandraJava17Flags...)
	argv = append(argv, "-cp", a.CassandraClassPath(), "org.apache.cassandra.service.CassandraDaemon")
	return argv, nil
}

// cassandraLogback is a node's logback configuration: system.log in
// logDir, capped like the console logs (maxBytes, keep rolled files), and
// system_views.system_logs.
func cassandraLogback(logDir string, maxBytes int64, keep int) string {
	return topology.CassandraLogback(topology.CassandraRollingLog(filepath.Join(logDir, "system.log"), maxBytes, keep))
}

// elasticMQCommand writes a region's ElasticMQ configuration (its own
// invalidation queue) and returns the command line that starts it.
func elasticMQCommand(a *assets.Paths, s *topology.Spec, c topology.Component, dir string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(c.Address)
	conf := fmt.Sprintf(`include classpath("application.conf")
node-address { protocol = http, host = "%[1]s", port = %[2]s, context-path = "" }
rest-sqs { enabled = true, bind-port = %[2]s, bind-hostname = "%[1]s", sqs-limits = strict }
rest-stats { enabled = false }
generate-node-address = false
queues { "%[3]s" { defaultVisibilityTimeout = 10 seconds } }
aws { region = "%[4]s", accountId = "000000000000" }
`, host, port, topology.InvalidationQueue(c.Region), c.Region)
	file := filepath.Join(dir, "elasticmq.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write elasticmq config of %s: %w", c.ID, err)
	}
	return []string{a.Java, "-Xms" + s.SQS.Heap, "-Xmx" + s.SQS.Heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+PerfDisableSharedMem",
		"-Djava.net.preferIPv4Stack=true", "-Dconfig.file=" + file, "-Djava.io.tmpdir=" + filepath.Join(dir, "tmp"),
		"-cp", filepath.Join(a.ElasticMQLib, "*"), "org.elasticmq.server.Main"}, nil
}

// memcachedCommand is the command line of one memcached server.
func memcachedCommand(a *assets.Paths, s *topology.Spec, c topology.Component) []string {
	host, port, _ := net.SplitHostPort(c.Address)
	argv := []string{a.Memcached, "-l", host, "-p", port, "-U", "0", "-m", strconv.Itoa(s.Memcached.MemoryMB), "-t", "2", "-c", "1024"}
	if os.Geteuid() == 0 {
		argv = append(argv, "-u", "root")
	}
	return argv
}
