// Command quell-image writes the quell OCI image (static quelld and quell
// on an empty base) as a docker-archive tarball that `podman load` and
// `docker load` read, without a daemon or network: `make image` runs it.
// The image's version and revision labels come from internal/version, so
// build it with the same -ldflags as the binaries.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/quell-dev/quell/internal/version"
)

func main() {
	quelld := flag.String("quelld", "bin/release/quelld", "static quelld `binary`")
	quell := flag.String("quell", "bin/release/quell", "static quell `binary`")
	license := flag.String("license", "LICENSE", "license `file` (to /usr/share/doc/quell/LICENSE)")
	out := flag.String("out", "bin/image/quell.tar", "docker-archive `tarball` to write")
	repo := flag.String("repo", "quell", "image `repository`; the tag is the version")
	epoch := flag.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "`seconds` since 1970 for every timestamp (the commit's time): the same input gives the same image")
	flag.Parse()
	if err := run(*quelld, *quell, *license, *out, *repo, *epoch); err != nil {
		fmt.Fprintln(os.Stderr, "quell-image:", err)
		os.Exit(1)
	}
}

func run(quelld, quell, license, out, repo, epoch string) error {
	created := time.Unix(0, 0).UTC()
	if epoch != "" {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("source date epoch %q: %w", epoch, err)
		}
		created = time.Unix(n, 0).UTC()
	}
	s := spec{
		Files:   map[string]string{"/usr/bin/quelld": quelld, "/usr/bin/quell": quell, "/usr/share/doc/quell/LICENSE": license},
		Dirs:    imageDirs,
		Version: version.Version,
		Commit:  version.Commit,
		Created: created,
	}
	img, err := build(s)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(repo + ":" + tagFor(version.Version))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := tarball.WriteToFile(out+".tmp", tag, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (manifest %s)\n", out, tag.String(), d)
	return nil
}

var badTag = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// tagFor makes a version a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func tagFor(v string) string {
	t := badTag.ReplaceAllString(v, "-")
	if t == "" || t[0] == '.' || t[0] == '-' {
		t = "v" + t
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}
