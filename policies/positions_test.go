package policies

import "testing"

// Text that only looks like TOML structure (inside strings and comments)
// must not move positions.
func TestPositionsIgnoreLookalikes(t *testing.T) {
	t.Parallel()
	src := `[[tenant]]
name = "a"
note = """
[[tenant]]
name = "fake" """
other = '''
'''''
[tenant.match] # [[tenant]]
names = ["a]", 'b[', "c\"]"]
[[tenant.x]]
[[tenant.x]]
y = { z = [1, [2, { w = 3 }]] }
[[tenant]]
  name = "b"
`
	ps := scanPositions("f", src)
	tests := []struct {
		path      []string
		line, col int
	}{
		{[]string{"tenant", "0"}, 1, 1},
		{[]string{"tenant", "0", "note"}, 3, 1},
		{[]string{"tenant", "0", "other"}, 6, 1},
		{[]string{"tenant", "0", "match"}, 8, 1},
		{[]string{"tenant", "0", "match", "names", "2"}, 9, 22},
		{[]string{"tenant", "0", "x", "1"}, 11, 1},
		{[]string{"tenant", "0", "x", "1", "y", "z", "1", "1", "w"}, 12, 21},
		{[]string{"tenant", "1"}, 13, 1},
		{[]string{"tenant", "1", "name"}, 14, 3},
		{[]string{"tenant", "1", "name", "nothing", "here"}, 14, 3}, // nearest ancestor
		{[]string{"tenant", "2"}, 1, 1},                             // falls back to the array
		{[]string{"rule"}, 0, 0},
	}
	for _, tt := range tests {
		if p := ps.at(tt.path); p.Line != tt.line || p.Col != tt.col {
			t.Errorf("%v at %d:%d, want %d:%d", tt.path, p.Line, p.Col, tt.line, tt.col)
		}
	}
}

func TestUnescapeBasic(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain`:       "plain",
		`a\"b`:        `a"b`,
		`\u006eame`:   "name",
		`\U0001F600`:  "\U0001F600",
		`\x41\e\t\\`:  "A\x1b\t\\",
		`trailing\`:   `trailing\`,
		`\u00`:        `\u00`,
		`\q`:          `\q`,
		`io.k8s/ns\n`: "io.k8s/ns\n",
	} {
		if got := unescapeBasic(in); got != want {
			t.Errorf("unescapeBasic(%q) = %q, want %q", in, got, want)
		}
	}
}
