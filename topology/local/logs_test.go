package local

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
	"github.com/kongchaos/kong/topology/topologytest"
)

// logFiles reads a log and its old files: path, path.1, path.2, ... while
// they exist, newest first.
func logFiles(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for i := 0; ; i++ {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			return out
		}
		require.NoError(t, err)
		out = append(out, string(b))
	}
}

// A component's console log is capped while it runs: the child writes into
// the pipe kong copies into the rotating log, and is none the worse for it.
func TestProcessConsoleLogRotates(t *testing.T) {
	dir := t.TempDir()
	p := &process{comp: topology.Component{ID: "r/chatty/a"},
		argv:    []string{"sh", "-c", `i=0; while [ $i -lt 3000 ]; do echo "line $i of the chatty component"; i=$((i+1)); done; echo done >&2`},
		logPath: filepath.Join(dir, "chatty.log"), stateDir: dir, logMax: 8 << 10, logKeep: 2}
	require.NoError(t, p.start())
	done := p.exited()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not finish")
	}
	files := logFiles(t, p.logPath)
	require.Equal(t, 3, len(files))
	for i, f := range files {
		assert.LessOrEqual(t, len(f), 8<<10, "file %d", i)
	}
	assert.Contains(t, files[0], "line 2999 of the chatty component\ndone\n")
	assert.Contains(t, files[0], "--- kong: r/chatty/a exited at ")
	assert.Contains(t, files[0], ": exit status 0\n", "the child was not killed by its log")
	assert.NotContains(t, strings.Join(files, ""), "--- kong: starting", "the start line rotated out long ago")

	// A restart appends to the current log.
	before := files[0]
	p.argv = []string{"sh", "-c", "echo again"}
	require.NoError(t, p.start())
	<-p.exited()
	files = logFiles(t, p.logPath)
	if len(before)+300 < 8<<10 {
		assert.True(t, strings.HasPrefix(files[0], before))
	}
	assert.Contains(t, files[0], "--- kong: starting r/chatty/a")
	assert.Contains(t, files[0], "again\n")
}

func TestCassandraLogbackRollsSystemLog(t *testing.T) {
	logs := filepath.Join(t.TempDir(), "logs")
	conf := cassandraLogback(logs, 50<<20, 2)
	var doc struct {
		Appenders []struct {
			Name    string `xml:"name,attr"`
			Class   string `xml:"class,attr"`
			File    string `xml:"file"`
			Rolling struct {
				Class    string `xml:"class,attr"`
				Pattern  string `xml:"fileNamePattern"`
				MinIndex int    `xml:"minIndex"`
				MaxIndex int    `xml:"maxIndex"`
			} `xml:"rollingPolicy"`
			Trigger struct {
				Class     string `xml:"class,attr"`
				MaxSize   string `xml:"maxFileSize"`
				Increment string `xml:"checkIncrement"`
			} `xml:"triggeringPolicy"`
			Pattern string `xml:"encoder>pattern"`
		} `xml:"appender"`
		Root struct {
			Level string `xml:"level,attr"`
			Refs  []struct {
				Ref string `xml:"ref,attr"`
			} `xml:"appender-ref"`
		} `xml:"root"`
	}
	require.NoError(t, xml.Unmarshal([]byte(conf), &doc))
	require.Len(t, doc.Appenders, 2)
	a, cqlLog := doc.Appenders[0], doc.Appenders[1]
	// The second fills system_views.system_logs, where the replication
	// check reads the GC pauses.
	assert.Equal(t, "org.apache.cassandra.utils.logging.VirtualTableAppender", cqlLog.Class)
	assert.Equal(t, "CQLLOG", cqlLog.Name, "the name Cassandra looks it up by")
	assert.Equal(t, "ch.qos.logback.core.rolling.RollingFileAppender", a.Class)
	assert.Equal(t, filepath.Join(logs, "system.log"), a.File)
	assert.Equal(t, "ch.qos.logback.core.rolling.FixedWindowRollingPolicy", a.Rolling.Class)
	assert.Equal(t, filepath.Join(logs, "system.log")+".%i", a.Rolling.Pattern)
	assert.Equal(t, 1, a.Rolling.MinIndex)
	assert.Equal(t, 2, a.Rolling.MaxIndex)
	assert.Equal(t, "ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy", a.Trigger.Class)
	assert.Equal(t, "52428800", a.Trigger.MaxSize)
	assert.Equal(t, "1 second", a.Trigger.Increment)
	assert.Equal(t, "%-5level [%thread] %date{ISO8601} %F:%L - %msg%n", a.Pattern)
	assert.Equal(t, "INFO", doc.Root.Level)
	require.Len(t, doc.Root.Refs, 2)
	assert.Equal(t, a.Name, doc.Root.Refs[0].Ref)
	assert.Equal(t, cqlLog.Name, doc.Root.Refs[1].Ref)
}

// The configuration rolls the log in the logback that Cassandra ships: a
// small program logs through it with a small cap. It needs Java and the
// Cassandra jars in the cache (make setup).
func TestCassandraLogbackWorksWithItsLogback(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Java")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("no java")
	}
	spec := topologytest.Profile(t, "default")
	cache, err := assets.CacheDir()
	require.NoError(t, err)
	lib := filepath.Join(cache, "cassandra-"+spec.Cassandra.Version, "lib")
	// Every jar of Cassandra's: the second appender is Cassandra's own.
	cp := []string{filepath.Join(lib, "*")}
	for _, pat := range []string{"logback-core-*.jar", "logback-classic-*.jar", "slf4j-api-*.jar", "cassandra-all-*.jar"} {
		if m, _ := filepath.Glob(filepath.Join(lib, pat)); len(m) != 1 {
			t.Skipf("no %s in %s (make setup fetches it)", pat, lib)
		}
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	conf := filepath.Join(dir, "logback.xml")
	require.NoError(t, os.WriteFile(conf, []byte(cassandraLogback(logs, 20<<10, 2)), 0o644))
	src := filepath.Join(dir, "LogMany.java")
	// Five bursts of 30 KiB, a little over a second apart (the policy
	// checks the size at most once a second).
	require.NoError(t, os.WriteFile(src, []byte(`public class LogMany {
  public static void main(String[] args) throws Exception {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("kong");
    for (int b = 0; b < 5; b++) {
      for (int i = 0; i < 300; i++) log.info("burst {} line {} {}", b, i, "x".repeat(40));
      Thread.sleep(1100);
    }
  }
}
`), 0o644))
	cmd := exec.Command(java, "-Dlogback.configurationFile=file://"+conf, "-cp", strings.Join(cp, ":"), src)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), "ERROR", "logback complains about its configuration")
	files := logFiles(t, filepath.Join(logs, "system.log"))
	require.Equal(t, 3, len(files), "system.log, .1 and .2 (%s)", string(out))
	for i, f := range files {
		assert.Less(t, len(f), 2*30<<10, "file %d is capped (to a second of logging past the cap)", i)
	}
	assert.Contains(t, files[0], "burst 4 line 299")
	assert.Contains(t, files[0], "LogMany.java:")
	_, err = os.Stat(filepath.Join(logs, "system.log.3"))
	assert.True(t, os.IsNotExist(err))
}
