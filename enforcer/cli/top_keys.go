package cli

import "io"

// topKeys maps the keys of the live `quell top` to what they do: a sort
// key, or "quit".
var topKeys = map[byte]string{
	'c': "cpu", 'm': "mem", 'i': "io", 'n': "name", 'p': "pids",
	'q': "quit", 0x03: "quit", // Ctrl-C arrives as a byte when ISIG is off
}

// keyReader reads key presses from a terminal in cbreak mode, dropping
// escape sequences (arrows, function keys: ESC [ … final, ESC O x, and
// Alt+key as ESC x), so that the C of "cursor right" does not count as c.
type keyReader struct {
	r     io.Reader
	buf   []byte
	state int // 0 plain, 1 after ESC, 2 inside a CSI or SS3 sequence
}

// next returns the next plain key, or the reader's error (io.EOF at its end).
func (k *keyReader) next() (byte, error) {
	for {
		if len(k.buf) == 0 {
			b := make([]byte, 64)
			n, err := k.r.Read(b)
			if n == 0 {
				if err == nil {
					continue
				}
				return 0, err
			}
			k.buf = b[:n]
		}
		c := k.buf[0]
		k.buf = k.buf[1:]
		switch k.state {
		case 0:
			if c == 0x1b {
				k.state = 1
				continue
			}
			return c, nil
		case 1:
			k.state = 0
			if c == '[' || c == 'O' {
				k.state = 2
			}
		case 2:
			if c >= 0x40 && c <= 0x7e {
				k.state = 0
			}
		}
	}
}

// readKeys delivers the plain keys of r until it ends or done is closed.
func readKeys(r io.Reader, done <-chan struct{}) <-chan byte {
	c := make(chan byte)
	go func() {
		defer close(c)
		k := &keyReader{r: r}
		for {
			b, err := k.next()
			if err != nil {
				return
			}
			select {
			case c <- b:
			case <-done:
				return
			}
		}
	}()
	return c
}
