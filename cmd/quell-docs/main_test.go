package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/cli"
	"github.com/quell-dev/quell/internal/docgen"
	"github.com/quell-dev/quell/policies"
)

// The docs are written into a temp dir once for all tests.
func docs(t *testing.T) (dir string, files map[string][]byte) {
	t.Helper()
	files, err := generate("../../policies/testdata/example/10-tenants.toml", docgen.Meta{Version: "v9.9.9", Date: "2026-12-05"})
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := write(dir, files, false); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func roffFlag(long string) string { return `\fB\-\-` + strings.ReplaceAll(long, "-", `\-`) + `\fR` }

// Every command and every flag of the CLI's own table is in quell.1 and
// in each shell's completions; every quelld flag is in quelld.8; every
// policy key is in quell-policy.5.
func TestEveryCommandAndFlagIsDocumented(t *testing.T) {
	t.Parallel()
	_, files := docs(t)
	man, bash, zsh, fish := string(files["man/quell.1"]), string(files["completions/quell.bash"]),
		string(files["completions/_quell"]), string(files["completions/quell.fish"])
	ref := cli.Reference()
	if len(ref.Commands) < 10 {
		t.Fatalf("cli.Reference lists %d commands", len(ref.Commands))
	}
	for _, g := range ref.Globals {
		for name, doc := range map[string]string{"quell.1": man, "bash": bash, "zsh": zsh, "fish": fish} {
			want := map[string]string{"quell.1": roffFlag(g.Long), "bash": "--" + g.Long, "zsh": "--" + g.Long + "[", "fish": "-l " + g.Long}[name]
			if !strings.Contains(doc, want) {
				t.Errorf("%s lacks global flag --%s (%q)", name, g.Long, want)
			}
		}
	}
	for _, c := range ref.Commands {
		checks := map[string][2]string{
			"quell.1":  {man, ".SS quell " + c.Name + "\n"},
			"bash":     {bash, "\n    " + c.Name + ")\n"},
			"zsh":      {zsh, "\n    " + c.Name + ") _arguments"},
			"zsh menu": {zsh, "'" + c.Name + ":"},
			"fish":     {fish, "-a " + c.Name + " -d "},
		}
		for name, ch := range checks {
			if !strings.Contains(ch[0], ch[1]) {
				t.Errorf("%s lacks command %q (%q)", name, c.Name, ch[1])
			}
		}
		for _, f := range c.Flags {
			fishCond := "'__fish_seen_subcommand_from " + c.Name + "' "
			if f.Short != "" {
				fishCond += "-s " + f.Short + " "
			}
			for name, ch := range map[string][2]string{
				"quell.1": {section(man, ".SS quell "+c.Name+"\n"), roffFlag(f.Long)},
				"bash":    {section(bash, "\n    "+c.Name+")\n"), "--" + f.Long + " "},
				"zsh":     {section(zsh, "\n    "+c.Name+") _arguments"), "--" + f.Long},
				"fish":    {fish, fishCond + "-l " + f.Long},
			} {
				if !strings.Contains(ch[0], ch[1]) {
					t.Errorf("%s: command %s lacks flag --%s (%q)", name, c.Name, f.Long, ch[1])
				}
			}
		}
	}
	fs, _ := enforcer.NewDaemonFlags()
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(string(files["man/quelld.8"]), ".TP\n"+roffFlag(f.Name)) {
			t.Errorf("quelld.8 lacks --%s", f.Name)
		}
	})
	if n < 10 {
		t.Errorf("quelld has %d flags", n)
	}
	for _, s := range policies.Keys() {
		for _, k := range s.Keys {
			if !strings.Contains(string(files["man/quell-policy.5"]), ".TP\n"+`\fB`+strings.ReplaceAll(k, "-", `\-`)+`\fR`) {
				t.Errorf("quell-policy.5 lacks key %s in [%s]", k, s.Section)
			}
		}
	}
}

// section returns doc from the line holding start up to the next command.
func section(doc, start string) string {
	i := strings.Index(doc, start)
	if i < 0 {
		return ""
	}
	rest := doc[i+len(start):]
	for _, end := range []string{"\n.SS ", "\n        ;;", " && ret=0"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// The completions parse in the real shells and the man pages in groff,
// with no warning.
func TestDocsParse(t *testing.T) {
	t.Parallel()
	dir, _ := docs(t)
	for _, c := range [][]string{
		{"bash", "-n", "completions/quell.bash"},
		{"zsh", "-n", "completions/_quell"},
		{"fish", "--no-execute", "completions/quell.fish"},
		{"groff", "-man", "-ww", "-z", "-Tutf8", "man/quell.1"},
		{"groff", "-man", "-ww", "-z", "-Tutf8", "man/quelld.8"},
		{"groff", "-man", "-ww", "-z", "-Tutf8", "man/quell-policy.5"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
}

// What a user gets on TAB, in bash and fish.
func TestCompletionsComplete(t *testing.T) {
	t.Parallel()
	dir, _ := docs(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "pol.d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "pol.d", "10-acme.toml"), nil, 0o644))
	bash := func(words ...string) []string {
		t.Helper()
		script := `source completions/quell.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _quell; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", script, "bash"}, words...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	fish := func(line string) []string {
		t.Helper()
		cmd := exec.Command("fish", "--no-config", "-c", "source completions/quell.fish; complete -C '"+line+"'")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish completion of %q: %v\n%s", line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			w, _, _ := strings.Cut(l, "\t")
			got = append(got, w)
		}
		return got
	}
	var names []string
	for _, c := range cli.Reference().Commands {
		names = append(names, c.Name)
	}
	for _, c := range []struct {
		name string
		got  []string
		want string
	}{
		{"bash: quell <TAB>", bash("quell", ""), strings.Join(append(names, "help"), " ")},
		{"bash: quell t<TAB>", bash("quell", "t"), "top tenants"},
		{"bash: quell top --<TAB>", bash("quell", "top", "--"), "--containers --sort --interval --once --socket --json --help --version"},
		{"bash: quell --json po<TAB>", bash("quell", "--json", "po"), "policy"},
		{"bash: quell policy <TAB>", bash("quell", "policy", ""), "check"},
		{"bash: quell policy check pol.d/<TAB>", bash("quell", "policy", "check", "pol.d/"), "pol.d/10-acme.toml"},
		{"bash: quell --socket po<TAB>", bash("quell", "--socket", "po"), "pol.d"},
		{"bash: quell top --sort <TAB>", bash("quell", "top", "--sort", ""), ""},
		{"bash: quell help re<TAB>", bash("quell", "help", "re"), "release reload"},
		{"fish: quell t<TAB>", fish("quell t"), "tenants top"},
		{"fish: quell containers --<TAB>", fish("quell containers --"), "--all --help --json --socket --tenant"},
		{"fish: quell policy <TAB>", fish("quell policy "), "check"},
		{"fish: quell policy check pol.d/<TAB>", fish("quell policy check pol.d/"), "pol.d/10-acme.toml"},
	} {
		got := strings.Join(c.got, " ")
		if c.name[:4] == "fish" {
			sorted := append([]string{}, c.got...)
			slices.Sort(sorted)
			got = strings.Join(sorted, " ")
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// --gzip writes man pages as Debian installs them, the same bytes on
// every run (no name, no time in the header).
func TestGzipReproducible(t *testing.T) {
	t.Parallel()
	_, files := docs(t)
	a, b := t.TempDir(), t.TempDir()
	if err := write(a, files, true); err != nil {
		t.Fatal(err)
	}
	if err := write(b, files, true); err != nil {
		t.Fatal(err)
	}
	x, err1 := os.ReadFile(filepath.Join(a, "man/quell.1.gz"))
	y, err2 := os.ReadFile(filepath.Join(b, "man/quell.1.gz"))
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) || len(x) == 0 {
		t.Errorf("gzipped man pages differ between runs or are missing: %v %v", err1, err2)
	}
	if _, err := os.Stat(filepath.Join(a, "completions/quell.bash.gz")); err == nil {
		t.Errorf("completions must not be gzipped")
	}
}
