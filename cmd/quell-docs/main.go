// Command quell-docs writes quell's man pages and shell completions,
// generated from the CLI's own command table (enforcer/cli.Reference),
// quelld's own FlagSet (enforcer.NewDaemonFlags) and the policy decoder's
// own key lists (policies.Keys). `make deb` and `make install` run it:
//
//	quell-docs --out DIR [--gzip] [--date YYYY-MM-DD] [--example FILE]
//
// DIR/man/{quell.1,quelld.8,quell-policy.5}[.gz],
// DIR/completions/{quell.bash,_quell,quell.fish}. This file only wires;
// the rendering is package internal/docgen.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/cli"
	"github.com/quell-dev/quell/internal/docgen"
	"github.com/quell-dev/quell/internal/version"
	"github.com/quell-dev/quell/policies"
	"github.com/quell-dev/quell/systemd"
)

func main() {
	fs := flag.NewFlagSet("quell-docs", flag.ContinueOnError)
	out := fs.String("out", "", "output `dir` (man/ and completions/ are made below it)")
	gz := fs.Bool("gzip", false, "gzip the man pages (as Debian installs them)")
	date := fs.String("date", defaultDate(), "date on the man pages, `YYYY-MM-DD` (default: SOURCE_DATE_EPOCH, else today)")
	example := fs.String("example", "policies/testdata/example/10-tenants.toml", "sample policy `file` shown in quell-policy.5")
	if err := fs.Parse(os.Args[1:]); err != nil || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: quell-docs --out DIR [--gzip] [--date YYYY-MM-DD] [--example FILE]")
		os.Exit(2)
	}
	files, err := generate(*example, docgen.Meta{Version: version.Version, Date: *date})
	if err == nil {
		err = write(*out, files, *gz)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quell-docs:", err)
		os.Exit(1)
	}
}

// generate returns every file by its path below the output dir.
func generate(examplePath string, m docgen.Meta) (map[string][]byte, error) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		return nil, err
	}
	var keys []docgen.KeySection
	for _, s := range policies.Keys() {
		keys = append(keys, docgen.KeySection{Section: s.Section, Keys: s.Keys})
	}
	policy, err := docgen.ManPolicy(keys, example, m)
	if err != nil {
		return nil, err
	}
	daemonFlags, _ := enforcer.NewDaemonFlags()
	ref := cli.Reference()
	return map[string][]byte{
		"man/quell.1":            docgen.ManQuell(ref, cli.ExitCodes(), m),
		"man/quelld.8":           docgen.ManQuelld(daemonFlags, systemd.DaemonConfigSample, m),
		"man/quell-policy.5":     policy,
		"completions/quell.bash": docgen.Bash(ref),
		"completions/_quell":     docgen.Zsh(ref),
		"completions/quell.fish": docgen.Fish(ref),
	}, nil
}

func write(dir string, files map[string][]byte, gz bool) error {
	for name, b := range files {
		p := filepath.Join(dir, name)
		if gz && filepath.Dir(name) == "man" {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // no name, no mtime: reproducible
			if _, err := zw.Write(b); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			b, p = buf.Bytes(), p+".gz"
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func defaultDate() string {
	t := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			t = time.Unix(n, 0)
		}
	}
	return t.UTC().Format("2006-01-02")
}
