package cli

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal and its width in columns.
func isTerminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok {
		return false, 0
	}
	fd := int(f.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return false, 0
	}
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return true, 0
	}
	return true, int(ws.Col)
}

// termSize returns the columns and rows of the terminal w is, 0 when
// unknown.
func termSize(w io.Writer) (cols, rows int) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0
	}
	return int(ws.Col), int(ws.Row)
}

// cbreak switches the terminal r is (when it is one) to single keys
// without echo, and returns what puts it back as it was. It is not full raw
// mode (golang.org/x/term's MakeRaw): ISIG stays, so Ctrl-C and Ctrl-\
// still signal quell, which then restores the terminal on its way out;
// OPOST stays, so "\n" still returns the carriage. When r is not a
// terminal nothing changes and restore does nothing.
func cbreak(r io.Reader) (restore func() error, err error) {
	f, ok := r.(*os.File)
	if !ok {
		return func() error { return nil }, nil
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() error { return nil }, nil
	}
	t := *old
	t.Lflag &^= unix.ICANON | unix.ECHO | unix.ECHONL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	saved := *old
	return func() error { return unix.IoctlSetTermios(fd, unix.TCSETS, &saved) }, nil
}
