package docgen

import (
	"strings"
	"testing"
)

func TestEsc(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"--json":             `\-\-json`,
		".TH injected":       `\&.TH injected`,
		"a\n'quote":          "a\n\\&'quote",
		`C:\path`:            `C:\epath`,
		"old → new":          `old \[u2192] new`,
		"docker-x….scope":    `docker\-x\[u2026].scope`,
		"plain words, 1 GiB": "plain words, 1 GiB",
	} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestManPolicyRefusesAnUndocumentedKey(t *testing.T) {
	t.Parallel()
	_, err := ManPolicy([]KeySection{{"tenant", []string{"name", "colour"}}}, nil, Meta{})
	if err == nil || !strings.Contains(err.Error(), "tenant colour") {
		t.Errorf("ManPolicy with an undocumented key: %v, want an error naming it", err)
	}
	if _, err := ManPolicy([]KeySection{{"tenant", []string{"name"}}}, []byte("version = 1\n"), Meta{}); err != nil {
		t.Errorf("ManPolicy: %v", err)
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{"check [FILE|DIR...]": "check", "ID|CGROUP": "", "": ""} {
		if got := strings.Join(Command{Args: args}.keywords(), " "); got != want {
			t.Errorf("keywords(%q) = %q, want %q", args, got, want)
		}
	}
}
