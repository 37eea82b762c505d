package topology

import "fmt"

// CassandraLogback is a Cassandra node's logback configuration: INFO and
// up go to the node's log (CassandraConsoleLog or CassandraRollingLog, the
// two logs kong's backends give a node) and to system_views.system_logs
// (Cassandra's VirtualTableAppender, which keeps the newest 50,000
// lines), where the replication check reads the GC pauses the node
// logged.
func CassandraLogback(log LogbackAppender) string {
	return `<configuration scan="false">
` + log.xml + `  <appender name="CQLLOG" class="org.apache.cassandra.utils.logging.VirtualTableAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>INFO</level></filter>
  </appender>
  <root level="INFO"><appender-ref ref="` + log.name + `"/><appender-ref ref="CQLLOG"/></root>
</configuration>
`
}

// LogbackAppender is a node's log in its logback configuration: an
// appender and the name the configuration refers to it by.
type LogbackAppender struct{ name, xml string }

// appender is the logback appender name of class, with body (lines
// indented within it) and the layout of a node's log lines.
func appender(name, class, body string) LogbackAppender {
	return LogbackAppender{name: name, xml: `  <appender name="` + name + `" class="` + class + `">
` + body + `    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
`}
}

// CassandraConsoleLog logs to the node's console, which a container
// engine keeps.
var CassandraConsoleLog = appender("STDOUT", "ch.qos.logback.core.ConsoleAppender", "")

// CassandraRollingLog logs to file, capped: past maxBytes it becomes
// file.1 (the .1 before it .2, and so on up to keep). logback-core, which
// Cassandra ships, rolls it; it checks the size at most once a second, so
// the file may run past the cap by a second of logging.
func CassandraRollingLog(file string, maxBytes int64, keep int) LogbackAppender {
	return appender("SYSTEMLOG", "ch.qos.logback.core.rolling.RollingFileAppender", fmt.Sprintf(`    <file>%[1]s</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>%[1]s.%%i</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>%[2]d</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>%[3]d</maxFileSize>
      <checkIncrement>1 second</checkIncrement>
    </triggeringPolicy>
`, file, max(keep, 1), maxBytes))
}
