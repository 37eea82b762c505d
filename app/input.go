package app

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
)

// MaxMemberIDLen is the longest member id, in bytes. With the cache's key
// prefix ("p:", "h:") it stays far below memcached's 250-byte key limit.
const MaxMemberIDLen = 128

// MaxBody bounds the body of every request the application reads (user and
// admin requests alike); a larger one is answered 413.
const MaxBody = 1 << 20

// ValidMemberID says why id is not a member id, or returns nil. A member id
// is 1 to 128 bytes of ASCII letters, digits and . _ : - (the workload's ids
// look like "m42" or "herd-7"). The grammar keeps every id a legal memcached
// key, a plain Cassandra text value and a path segment that needs no escaping.
func ValidMemberID(id string) error {
	if id == "" {
		return errors.New("member id is empty")
	}
	if len(id) > MaxMemberIDLen {
		return fmt.Errorf("member id is %d bytes long, more than %d", len(id), MaxMemberIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !idByte(c) {
			return fmt.Errorf("member id %.40q: byte %d (%q) is not allowed: use letters, digits and . _ : -", id, i, c)
		}
	}
	return nil
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

// ErrContentType refuses a request body that is not declared JSON.
var ErrContentType = errors.New("unsupported content type")

// CheckJSONContentType accepts a request whose body is declared
// application/json (any parameters, such as a charset, are ignored), and a
// request with neither a Content-Type nor a body. Anything else, a browser
// form post (application/x-www-form-urlencoded, multipart/form-data,
// text/plain) in particular, is refused with an error wrapping
// ErrContentType, to be answered 415: a JSON endpoint never acts on a body
// it was not meant to read, and a web page cannot make a browser send one.
func CheckJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			return nil
		}
		return fmt.Errorf("%w: no Content-Type: send the body as application/json", ErrContentType)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: Content-Type %.60q: send the body as application/json", ErrContentType, ct)
	}
	return nil
}
