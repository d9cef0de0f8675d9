package cli

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a new pseudo-terminal's follower side (what quell would
// have as stdin and stdout) and its leader.
func openPTY(t *testing.T) (pts, ptmx *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts, ptmx
}

// cbreak gives single keys without echo but keeps signals (Ctrl-C still
// stops quell, which restores the terminal) and output processing; its
// restore puts back exactly what was there.
func TestCbreakRestores(t *testing.T) {
	t.Parallel()
	pts, _ := openPTY(t)
	fd := int(pts.Fd())
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ICANON == 0 || before.Lflag&unix.ECHO == 0 {
		t.Fatalf("a new pty is not in canonical echo mode: lflag %#x", before.Lflag)
	}
	restore, err := cbreak(pts)
	if err != nil {
		t.Fatal(err)
	}
	during, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if during.Lflag&(unix.ICANON|unix.ECHO) != 0 || during.Lflag&unix.ISIG == 0 || during.Oflag&unix.OPOST == 0 || during.Cc[unix.VMIN] != 1 {
		t.Errorf("cbreak termios: lflag %#x oflag %#x vmin %d; want no ICANON/ECHO, ISIG and OPOST kept, VMIN 1",
			during.Lflag, during.Oflag, during.Cc[unix.VMIN])
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("restore: termios %+v, was %+v", after, before)
	}
	// Not a terminal: nothing changes, restore is harmless.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if restore, err := cbreak(f); err != nil || restore() != nil {
		t.Errorf("cbreak on /dev/null: %v", err)
	}
	if restore, err := cbreak(strings.NewReader("")); err != nil || restore() != nil {
		t.Errorf("cbreak on a reader: %v", err)
	}
}

func TestTermSize(t *testing.T) {
	t.Parallel()
	pts, _ := openPTY(t)
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 93, Row: 27}); err != nil {
		t.Fatal(err)
	}
	if c, r := termSize(pts); c != 93 || r != 27 {
		t.Errorf("termSize = %d×%d, want 93×27", c, r)
	}
	if tty, w := isTerminal(pts); !tty || w != 93 {
		t.Errorf("isTerminal = %v, %d", tty, w)
	}
	if c, r := termSize(&strings.Builder{}); c != 0 || r != 0 {
		t.Errorf("termSize of a non-terminal = %d×%d, want 0×0", c, r)
	}
}
