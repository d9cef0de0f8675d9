package policies

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/quell-dev/quell/internal/cpuset"
)

// parseCpuset parses a policy's cpuset / cpuset_mems, "0-3,8,10-11", with
// internal/cpuset. A policy is stricter than a kernel file: an empty value
// and blanks anywhere are errors too.
func parseCpuset(s string) (cpuset.Set, error) {
	if s == "" {
		return nil, fmt.Errorf("empty cpuset (leave the key out for no restriction)")
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return nil, fmt.Errorf("bad cpuset %q (use a list such as \"0-3,8\")", s)
	}
	return cpuset.Parse(s)
}
