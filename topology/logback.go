package topology

import "fmt"

// CassandraLogback is a Cassandra node's logback configuration: INFO and
// up go to the node's log, appender (its XML, an appender named name),
// and to system_views.system_logs (Cassandra's VirtualTableAppender,
// which keeps the newest 50,000 lines), where the replication check reads
// the GC pauses the node logged. CassandraConsoleLog and
// CassandraRollingLog are the two logs kong's backends give a node.
func CassandraLogback(name, appender string) string {
	return `<configuration scan="false">
` + appender + `  <appender name="CQLLOG" class="org.apache.cassandra.utils.logging.VirtualTableAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>INFO</level></filter>
  </appender>
  <root level="INFO"><appender-ref ref="` + name + `"/><appender-ref ref="CQLLOG"/></root>
</configuration>
`
}

// cassandraLogLine is the layout of a node's log lines.
const cassandraLogLine = `<encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>`

// CassandraConsoleLog is the appender STDOUT: the node logs to its
// console, which a container engine keeps.
const CassandraConsoleLog = `  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    ` + cassandraLogLine + `
  </appender>
`

// CassandraRollingLog is the appender SYSTEMLOG: the node logs to file,
// capped: past maxBytes it becomes file.1 (the .1 before it .2, and so
// on up to keep). logback-core, which Cassandra ships, rolls it; it checks
// the size at most once a second, so the file may run past the cap by a
// second of logging.
func CassandraRollingLog(file string, maxBytes int64, keep int) string {
	return fmt.Sprintf(`  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>%[1]s</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>%[1]s.%%i</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>%[2]d</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>%[3]d</maxFileSize>
      <checkIncrement>1 second</checkIncrement>
    </triggeringPolicy>
    %[4]s
  </appender>
`, file, max(keep, 1), maxBytes, cassandraLogLine)
}
