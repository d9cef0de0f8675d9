package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// frames is an io.Writer that hands each write (the live view writes one
// frame per write) to a channel.
type frames chan string

func (f frames) Write(b []byte) (int, error) { f <- string(b); return len(b), nil }

func (f frames) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-f:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
		return ""
	}
}

// fakeSize is a terminal size a test changes.
type fakeSize struct{ cols, rows atomic.Int64 }

func (s *fakeSize) set(cols, rows int) { s.cols.Store(int64(cols)); s.rows.Store(int64(rows)) }
func (s *fakeSize) get() (int, int)    { return int(s.cols.Load()), int(s.rows.Load()) }

// plain turns a frame into what the terminal shows, one line each.
func plain(frame string) string {
	return strings.NewReplacer(home, "", clearEOL, "", clearEOS, "").Replace(frame) + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it):\ngot:\n%s\nwant:\n%s", path, t.Name(), got, want)
	}
}

// checkFrame checks what every frame must be on a cols×rows terminal:
// painted from home, no line wider than cols, no more lines than rows and
// no newline after the last (it would scroll), the rest cleared.
func checkFrame(t *testing.T, frame string, cols, rows int) {
	t.Helper()
	if !strings.HasPrefix(frame, home) || !strings.HasSuffix(frame, clearEOL+clearEOS) {
		t.Errorf("frame not painted from home to a cleared end: %q", frame)
	}
	body := strings.TrimSuffix(strings.TrimPrefix(frame, home), clearEOL+clearEOS)
	lines := strings.Split(body, clearEOL+"\n")
	if len(lines) > rows {
		t.Errorf("%d lines on a %d-row terminal", len(lines), rows)
	}
	for _, l := range lines {
		if strings.Contains(l, "\n") || len([]rune(l)) > cols {
			t.Errorf("line %q: wider than %d or not cleared to its end", l, cols)
		}
	}
}

// The live view follows the terminal: keys re-sort at once, a resize
// redraws at the new size with the rows that do not fit counted, and only
// the tick fetches a new view.
func TestTopLiveKeysResizeClip(t *testing.T) {
	t.Parallel()
	var size fakeSize
	size.set(110, 30)
	out := make(frames, 100)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	defer close(done)
	resized := make(chan os.Signal, 1)
	tick := make(chan time.Time)
	var fetches atomic.Int64
	l := &liveTop{out: out, size: size.get, keys: readKeys(pr, done), resized: resized, tick: tick,
		fetch: func(context.Context) (*view.View, error) { fetches.Add(1); return fixtureView(), nil },
		o:     topOpts{sortBy: "cpu", containers: true}}
	errc := make(chan error, 1)
	go func() { errc <- l.run(context.Background()) }()

	f := out.next(t)
	checkFrame(t, f, 110, 30)
	golden(t, "top-live-cpu", plain(f))

	pw.Write([]byte("m"))
	f = out.next(t)
	checkFrame(t, f, 110, 30)
	golden(t, "top-live-mem", plain(f))

	size.set(72, 8)
	resized <- syscall.SIGWINCH
	f = out.next(t)
	checkFrame(t, f, 72, 8)
	golden(t, "top-live-clipped", plain(f))
	if !strings.Contains(f, "… 4 more rows below: the terminal has 8 rows") {
		t.Errorf("clipped frame does not count the rows cut:\n%s", plain(f))
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for a key and a resize, want the first only", n)
	}

	// Arrows and other keys change nothing (cursor right is ESC [ C).
	pw.Write([]byte("\x1b[C\x1bOPx\x1b[1;5D"))
	tick <- time.Now()
	f = out.next(t)
	if n := fetches.Load(); n != 2 {
		t.Errorf("frame after the tick came with %d fetches, want 2 (an ignored key drew?)", n)
	}
	if !strings.Contains(f, "sort mem") {
		t.Errorf("an arrow key changed the sort:\n%s", plain(f))
	}
	pw.Write([]byte("n"))
	if f = out.next(t); !strings.Contains(f, "sort name") {
		t.Errorf("n did not sort by name:\n%s", plain(f))
	}
	pw.Write([]byte("q"))
	if err := <-errc; err != nil {
		t.Fatalf("q: %v", err)
	}
	if len(out) != 0 {
		t.Errorf("%d frames after the last key", len(out))
	}
}

// Each sort key sorts by its column; p and i put the biggest first.
func TestTopLiveSortKeys(t *testing.T) {
	t.Parallel()
	for key, first := range map[string]string{"c": "ci ", "m": "acme ", "i": "ci ", "p": "ci ", "n": "acme "} {
		out := make(frames, 10)
		l := &liveTop{out: out, size: func() (int, int) { return 200, 50 },
			keys:  readKeys(strings.NewReader(key+"q"), make(chan struct{})),
			fetch: func(context.Context) (*view.View, error) { return fixtureView(), nil }, o: topOpts{sortBy: "name"}}
		if err := l.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-out
		f := plain(<-out)
		lines := strings.Split(f, "\n")
		if len(lines) < 5 || !strings.HasPrefix(lines[4], first) || !strings.Contains(lines[1], "sort "+topKeys[key[0]]) {
			t.Errorf("key %s: first row %q, want %q:\n%s", key, lines[4], first, f)
		}
	}
}

// quelld going away after the first frame is shown and retried; the
// first fetch failing ends top with the error.
func TestTopLiveFetchErrors(t *testing.T) {
	t.Parallel()
	out := make(frames, 10)
	tick := make(chan time.Time)
	var n atomic.Int64
	l := &liveTop{out: out, size: func() (int, int) { return 80, 24 }, tick: tick, o: topOpts{sortBy: "cpu"},
		fetch: func(context.Context) (*view.View, error) {
			if n.Add(1) == 2 {
				return nil, errors.New("connection refused\x1b[2J")
			}
			return fixtureView(), nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.run(ctx) }()
	out.next(t)
	tick <- time.Now()
	if f := out.next(t); !strings.Contains(f, "quell top: connection refused") || !strings.Contains(f, "retrying") || strings.Contains(f, "\x1b[2J") {
		t.Errorf("error frame: %q", f)
	}
	tick <- time.Now()
	if f := out.next(t); !strings.Contains(f, "TENANT") {
		t.Errorf("no recovery: %q", plain(f))
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	l = &liveTop{out: out, size: func() (int, int) { return 80, 24 },
		fetch: func(context.Context) (*view.View, error) { return nil, errors.New("no quelld") }}
	if err := l.run(context.Background()); err == nil || err.Error() != "no quelld" {
		t.Errorf("first fetch failing: %v", err)
	}
}

func TestClipRows(t *testing.T) {
	t.Parallel()
	lines := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		rows int
		want string
	}{
		{0, "a b c d e"}, {5, "a b c d e"}, {9, "a b c d e"},
		{4, "a b c … 2 more rows below: the terminal has 4 rows"},
		{1, "… 5 more rows below: the terminal has 1 rows"},
	} {
		if got := strings.Join(clipRows(lines, tc.rows), " "); got != tc.want {
			t.Errorf("rows %d: %q, want %q", tc.rows, got, tc.want)
		}
	}
}

func TestKeyReader(t *testing.T) {
	t.Parallel()
	// Arrows (CSI, SS3), a modified arrow, Alt+c and F5 are dropped; the
	// plain keys around them come through, across reads.
	in := io.MultiReader(strings.NewReader("c\x1b[A\x1bOBm\x1b"), strings.NewReader("[1;5Ci\x1bc\x1b[15~p"), strings.NewReader("q"))
	k := &keyReader{r: in}
	var got []byte
	for {
		b, err := k.next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, b)
	}
	if string(got) != "cmipq" {
		t.Errorf("keys %q, want %q", got, "cmipq")
	}
}

// Through Main: on a terminal (fake size, keys and resize signal) top is
// live; q ends it with exit 0 and the screen restored.
func TestTopLiveMain(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	pr, pw := io.Pipe()
	resized := make(chan os.Signal, 1)
	opts := Options{IsTerminal: func(io.Writer) (bool, int) { return true, 100 },
		Terminal: Terminal{Size: func() (int, int) { return 100, 6 }, Keys: pr, Resized: resized}}
	go func() {
		time.Sleep(300 * time.Millisecond)
		resized <- syscall.SIGWINCH
		pw.Write([]byte("pq"))
	}()
	r := run(t, nil, opts, "top", "--interval", "1h", "--socket", sock)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, altScreenOn) || !strings.HasSuffix(r.stdout, altScreenOff) {
		t.Errorf("not wrapped in the alternate screen: %q", r.stdout)
	}
	if n := strings.Count(r.stdout, home); n != 3 {
		t.Errorf("%d frames, want 3 (first, resize, p)", n)
	}
	if !strings.Contains(r.stdout, "sort pids") || !strings.Contains(r.stdout, "more rows below: the terminal has 6 rows") {
		t.Errorf("output:\n%s", plain(r.stdout))
	}
}

// With the defaults, SIGWINCH itself redraws, without a fetch.
func TestTopLiveSIGWINCH(t *testing.T) {
	t.Parallel()
	out := make(frames, 10)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var fetches atomic.Int64
	svc := countingService{n: &fetches}
	e := &env{ctx: ctx, stdout: out, stderr: io.Discard, opts: Options{IsTerminal: func(io.Writer) (bool, int) { return true, 90 },
		Terminal: Terminal{Size: func() (int, int) { return 90, 40 }, Keys: pr}}}
	codec := make(chan int, 1)
	go func() {
		code, _ := runTopLive(e, svc, false, topOpts{sortBy: "cpu", interval: time.Hour})
		codec <- code
	}()
	if f := out.next(t); f != altScreenOn {
		t.Fatalf("first write %q, want the alternate screen", f)
	}
	out.next(t)
	if err := unix.Kill(os.Getpid(), unix.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	if f := out.next(t); !strings.HasPrefix(f, home) || fetches.Load() != 1 {
		t.Errorf("after SIGWINCH: %d fetches, frame %q", fetches.Load(), f)
	}
	pw.Write([]byte("q"))
	if code := <-codec; code != ExitOK {
		t.Errorf("exit %d", code)
	}
	if f := out.next(t); f != altScreenOff {
		t.Errorf("last write %q, want the screen restored", f)
	}
}

type countingService struct {
	api.Service
	n *atomic.Int64
}

func (s countingService) View(context.Context) (*view.View, error) {
	s.n.Add(1)
	return fixtureView(), nil
}
