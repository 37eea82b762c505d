package assets

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// MemcachedVersion is the version of the memcached the local backend runs
// (memcached -V: "1.6.18"), or "" when none is installed or it does not
// say.
func MemcachedVersion(ctx context.Context) string {
	path, ok := lookMemcached()
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-V").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "memcached"))
}
