package limits

import (
	"bytes"
	"io"
	"strconv"
)

// Parsing helpers for the kernel's flat-keyed files ("key value" per
// line), written against []byte so the hot readers do not allocate per
// line.

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// slurp reads all of r. Small cgroup files fit the first buffer.
func slurp(r io.Reader) ([]byte, error) {
	if br, ok := r.(*bytes.Reader); ok {
		b := make([]byte, br.Len())
		_, err := io.ReadFull(br, b)
		return b, err
	}
	return io.ReadAll(r)
}

// nextLine splits the first line off b.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// eachKV calls fn for every "key value" line of a flat-keyed file. Empty
// lines are skipped; a line that is not exactly two fields is ErrSyntax.
func eachKV(file string, b []byte, fn func(k, v []byte) error) error {
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		i := bytes.IndexByte(line, ' ')
		if i <= 0 {
			return errSyntax(file, string(line))
		}
		k, v := line[:i], bytes.TrimLeft(line[i+1:], " ")
		if len(v) == 0 || bytes.IndexByte(v, ' ') >= 0 {
			return errSyntax(file, string(line))
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// atou parses a decimal uint64 without allocating.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseUintFile parses a file holding a single unsigned number
// (memory.current, memory.peak, memory.swap.current, pids.current).
func parseUintFile(file string, r io.Reader) (uint64, error) {
	b, err := slurp(r)
	if err != nil {
		return 0, err
	}
	return parseUintBytes(file, b)
}

func parseUintBytes(file string, b []byte) (uint64, error) {
	t := bytes.TrimSpace(b)
	n, ok := atou(t)
	if !ok {
		return 0, errSyntax(file, string(t))
	}
	return n, nil
}

// parseMaxFile parses a file holding "max" or a number (pids.max,
// memory.max…): "max" gives Max (-1).
func parseMaxFile(file string, r io.Reader) (int64, error) {
	b, err := slurp(r)
	if err != nil {
		return 0, err
	}
	return parseMaxBytes(file, b)
}

func parseMaxBytes(file string, b []byte) (int64, error) {
	t := bytes.TrimSpace(b)
	if string(t) == "max" {
		return Max, nil
	}
	n, ok := atou(t)
	if !ok || n > 1<<63-1 {
		return 0, errSyntax(file, string(t))
	}
	return int64(n), nil
}

// parseProcs parses cgroup.procs: one PID per line.
func parseProcs(r io.Reader) ([]int, error) {
	b, err := slurp(r)
	if err != nil {
		return nil, err
	}
	pids := []int{}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		n, err := strconv.Atoi(string(line))
		if err != nil || n <= 0 {
			return nil, errSyntax("cgroup.procs", string(line))
		}
		pids = append(pids, n)
	}
	return pids, nil
}
