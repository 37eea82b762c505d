package topology

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteStatus(t *testing.T) {
	var b bytes.Buffer
	comps := []Status{{Component: Component{ID: "toxiproxy", Address: "127.0.0.1:8474"}, PID: 7},
		{Component: Component{ID: "us-east-1/cassandra/a", Region: "us-east-1", Zone: "a", Address: "127.0.0.2:9042"}}}
	require.NoError(t, WriteStatus(&b, "world w", comps, [2]string{"PID", "HEALTH"},
		func(c Status) [2]string { return [2]string{"7", "ok"} }))
	require.Equal(t, `world w
REGION     ZONE  COMPONENT              ADDRESS         PID  HEALTH
-          -     toxiproxy              127.0.0.1:8474  7    ok
us-east-1  a     us-east-1/cassandra/a  127.0.0.2:9042  7    ok
`, b.String())
}
