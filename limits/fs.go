package limits

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Errors callers decide on. Test them with errors.Is; every error returned
// by FS wraps one of these or an *os.PathError carrying the errno (so
// errors.Is(err, syscall.EINVAL) and syscall.EBUSY work too).
var (
	// ErrGone: the cgroup directory does not exist (any more), or the
	// kernel reported ENODEV because it is being removed. Normal life on a
	// container host; the caller should forget the cgroup, not retry.
	ErrGone = errors.New("cgroup gone")
	// ErrMissing: the cgroup exists but the file does not; usually the
	// controller is not enabled in the parent's cgroup.subtree_control, or
	// the kernel is too old for the file (memory.peak, cgroup.kill).
	ErrMissing = errors.New("cgroup file missing")
	// ErrUnsafe: the request would escape the cgroup root or touch a cgroup
	// quell must never change (the root, init.scope, quelld's own cgroup).
	// Nothing was written.
	ErrUnsafe = errors.New("refused unsafe cgroup path")
	// ErrNotApplied: the kernel accepted a write but reads back a value that
	// is neither the wanted one nor its kernel rounding.
	ErrNotApplied = errors.New("value not applied")
)

// FS reads and writes one cgroup v2 hierarchy. All cgroup arguments are
// paths relative to the root ("system.slice/docker-x.scope"); "" or "."
// is the root cgroup itself. An FS is safe for concurrent use; it keeps no
// open files.
type FS struct {
	root     string // as given
	realRoot string // root with symlinks resolved, for containment checks
	self     string // quelld's own cgroup, cleaned; "" = unknown
	pageSize int64

	// afterWrite, if set, runs after each successful write and before the
	// read-back. Tests use it to imitate the kernel's rounding.
	afterWrite func(path, value string)

	// resolved caches dir()'s answer per cleaned cgroup path: resolving
	// symlinks costs an lstat per path element, on every file of every
	// cgroup, every interval. cgroupfs cannot hold symlinks, so a path that
	// resolved inside the root once stays inside it; the cache only skips
	// the repeated walk. It is bounded (cleared when full).
	resolvedMu sync.Mutex
	resolved   map[string]string

	// rc runs the memory.high and memory.max writes, which may reclaim
	// for seconds in the kernel (reclaim.go).
	rc *reclaims
}

// maxResolved bounds FS.resolved.
const maxResolved = 50000

// Option configures an FS.
type Option func(*FS)

// WithSelf names quelld's own cgroup (as returned by SelfCgroup), which FS
// then refuses to limit, freeze or kill, together with its ancestors and
// descendants. "" or "/" (the root) is ignored: the root is refused anyway.
func WithSelf(cg string) Option {
	return func(f *FS) {
		c := filepath.Clean("/" + cg)
		if c != "/" {
			f.self = strings.TrimPrefix(c, "/")
		}
	}
}

// WithPageSize sets the page size used to recognise the kernel's rounding
// of memory values (default os.Getpagesize()). For tests.
func WithPageSize(n int) Option {
	return func(f *FS) { f.pageSize = int64(n) }
}

// NewFS returns an FS for the cgroup2 hierarchy mounted at root (normally
// /sys/fs/cgroup). It does no I/O except resolving symlinks in root; a
// root that does not exist yet makes every later call fail with the
// underlying error.
func NewFS(root string, opts ...Option) *FS {
	f := &FS{root: filepath.Clean(root), pageSize: int64(os.Getpagesize()), rc: newReclaims()}
	f.realRoot = f.root
	if r, err := filepath.EvalSymlinks(f.root); err == nil {
		f.realRoot = r
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Root returns the root the FS was created with.
func (f *FS) Root() string { return f.root }

// clean checks cg lexically and returns it cleaned and relative ("" for
// the root). Absolute paths and paths with ".." are refused.
func clean(cg string) (string, error) {
	if filepath.IsAbs(cg) {
		return "", fmt.Errorf("cgroup %q: absolute path: %w", cg, ErrUnsafe)
	}
	for _, part := range strings.Split(cg, "/") {
		if part == ".." {
			return "", fmt.Errorf("cgroup %q: contains \"..\": %w", cg, ErrUnsafe)
		}
	}
	c := filepath.Clean(cg)
	if c == "." {
		c = ""
	}
	return c, nil
}

// dir resolves cg to its directory, refusing anything outside the root,
// also by symlink. A missing directory is ErrGone.
func (f *FS) dir(cg string) (string, error) {
	c, err := clean(cg)
	if err != nil {
		return "", err
	}
	f.resolvedMu.Lock()
	real, ok := f.resolved[c]
	f.resolvedMu.Unlock()
	if ok {
		// No re-check: a removed cgroup fails at the file's open (ErrGone),
		// a recreated one has the same path, and a symlink swapped in is
		// refused by the open itself (openNoSymlinks).
		return real, nil
	}
	p := filepath.Join(f.realRoot, c)
	real, err = filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("cgroup %s: %w", c, ErrGone)
		}
		return "", fmt.Errorf("cgroup %s: resolve: %w", c, err)
	}
	if real != f.realRoot && !strings.HasPrefix(real, f.realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("cgroup %s: resolves to %s outside %s: %w", c, real, f.realRoot, ErrUnsafe)
	}
	if real == p { // no symlink on the way: safe to remember
		f.resolvedMu.Lock()
		if f.resolved == nil || len(f.resolved) >= maxResolved {
			f.resolved = map[string]string{}
		}
		f.resolved[c] = real
		f.resolvedMu.Unlock()
	}
	return real, nil
}

// writable checks that cg may be changed: not the root, not init.scope,
// not quelld's own cgroup, its ancestors or descendants.
func (f *FS) writable(cg string) (string, error) {
	c, err := clean(cg)
	if err != nil {
		return "", err
	}
	switch {
	case c == "":
		return "", fmt.Errorf("root cgroup: %w", ErrUnsafe)
	case c == "init.scope" || strings.HasPrefix(c, "init.scope/"):
		return "", fmt.Errorf("cgroup %s: init.scope: %w", c, ErrUnsafe)
	case f.self != "" && related(c, f.self):
		return "", fmt.Errorf("cgroup %s: quelld's own cgroup %s or its relative: %w", c, f.self, ErrUnsafe)
	}
	return f.dir(c)
}

// related reports whether a and b are the same cgroup or one contains the other.
func related(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// checkName refuses file names that are not a single path element.
func checkName(file string) error {
	if file == "" || file == "." || file == ".." || strings.ContainsRune(file, '/') {
		return fmt.Errorf("cgroup file %q: not a plain name: %w", file, ErrUnsafe)
	}
	return nil
}

// classify maps an error from a file in dir to ErrGone or ErrMissing.
func classify(dir string, err error) error {
	switch {
	case errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("%w: %w", ErrGone, err)
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(dir); serr != nil && errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrGone, err)
		}
		return fmt.Errorf("%w: %w", ErrMissing, err)
	}
	return err
}

// readFile reads dir/file, refusing symlinks (see openNoSymlinks). Errors
// are classified (ErrGone, ErrMissing) and carry the path.
func readFile(dir, file string) ([]byte, error) {
	p := dir + "/" + file
	fd, err := openNoSymlinks(p, unix.O_RDONLY)
	if err != nil {
		if isUnsafe(err) {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return nil, fmt.Errorf("read %s: %w", p, classify(dir, err))
	}
	defer unix.Close(fd)
	b, err := readAllFD(fd, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, classify(dir, err))
	}
	return b, nil
}

// writeFile writes value to dir/file in one write(2), as the kernel wants.
// An empty value is written as "\n" (a zero-length write may not reach the
// kernel's handler).
func writeFile(dir, file, value string) error {
	p := dir + "/" + file
	fd, err := openNoSymlinks(p, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		if isUnsafe(err) {
			return fmt.Errorf("write %q to %s: %w", value, p, err)
		}
		return fmt.Errorf("write %q to %s: %w", value, p, classify(dir, err))
	}
	if value == "" {
		value = "\n"
	}
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, classify(dir, &os.PathError{Op: "write", Path: p, Err: err}))
	}
	return nil
}

// Read returns the content of one file of cgroup cg with trailing
// newlines removed. Reading the root cgroup is allowed. Errors: ErrUnsafe
// for a path escaping the root or a file name with "/", ErrGone if the
// cgroup does not exist, ErrMissing if only the file does not, otherwise
// the wrapped I/O error. A failed read never returns a made-up value.
func (f *FS) Read(cg, file string) (string, error) {
	if err := checkName(file); err != nil {
		return "", err
	}
	d, err := f.dir(cg)
	if err != nil {
		return "", err
	}
	b, err := readFile(d, file)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\n"), nil
}
