package limits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/sys/unix"
)

// PSILine is one line of a pressure file: the share of wall time (in
// percent, 0..100) in which some (or all) tasks were stalled, averaged over
// 10, 60 and 300 seconds, and the total stall time in microseconds.
type PSILine struct {
	Avg10, Avg60, Avg300 float64
	Total                uint64 // µs
}

// PSI is the content of /proc/pressure/{cpu,memory,io} or of a cgroup's
// {cpu,memory,io}.pressure. Full is only meaningful when HasFull is true:
// cpu pressure has no "full" line on kernels before 5.13 (and its values
// are always zero at the host level).
type PSI struct {
	Some    PSILine
	Full    PSILine
	HasFull bool
}

// ErrPSIFormat is wrapped by every error ParsePSI returns for content that is
// not a pressure file (as opposed to an error of the reader itself).
var ErrPSIFormat = errors.New("malformed pressure data")

// ReadPSI reads and parses one pressure file. A cgroup that vanished gives an
// error satisfying errors.Is(err, fs.ErrNotExist); a read error is never
// turned into zero pressure.
func ReadPSI(path string) (PSI, error) {
	// A read of a kernel file by a path the caller built: O_NOFOLLOW on
	// the file only (a /proc or cgroup mount reached through a symlinked
	// directory is fine to read).
	fd, err := openRaw(path, unix.O_RDONLY, false)
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure: %w", err)
	}
	defer unix.Close(fd)
	var arr [512]byte // a pressure file is 2 lines of < 100 bytes
	b, err := readAllFDInto(fd, path, arr[:0])
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure: %w", err)
	}
	p, err := parsePSIBytes(b)
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure %s: %w", path, err)
	}
	return p, nil
}

// ParsePSI parses the "some avg10=… avg60=… avg300=… total=…" and optional
// "full …" lines of a pressure file.
//
//   - A "some" line is required; a missing "full" line leaves HasFull false.
//   - Unknown line prefixes and unknown key=value fields are ignored (forward
//     compatible); a line with a missing or unparsable avg10/avg60/avg300/total,
//     a duplicated line, or empty input is an error wrapping ErrPSIFormat.
//   - An error of r is returned as is (wrapped), never as zero pressure.
func ParsePSI(r io.Reader) (PSI, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return PSI{}, fmt.Errorf("parse pressure: %w", err)
	}
	return parsePSIBytes(b)
}

// parsePSIBytes is ParsePSI on the file's content, without allocating
// unless the content is malformed.
func parsePSIBytes(b []byte) (PSI, error) {
	var p PSI
	var haveSome bool
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		kind, rest, _ := bytes.Cut(line, []byte{' '})
		var dst *PSILine
		switch string(kind) {
		case "some":
			if haveSome {
				return PSI{}, fmt.Errorf("%w: duplicate %q line", ErrPSIFormat, string(kind))
			}
			dst, haveSome = &p.Some, true
		case "full":
			if p.HasFull {
				return PSI{}, fmt.Errorf("%w: duplicate %q line", ErrPSIFormat, string(kind))
			}
			dst, p.HasFull = &p.Full, true
		default:
			continue
		}
		l, err := parsePSILine(rest)
		if err != nil {
			return PSI{}, fmt.Errorf("%w: %s line: %v", ErrPSIFormat, string(kind), err)
		}
		*dst = l
	}
	if !haveSome {
		return PSI{}, fmt.Errorf("%w: no \"some\" line", ErrPSIFormat)
	}
	return p, nil
}

func parsePSILine(s []byte) (PSILine, error) {
	var l PSILine
	var seen uint8 // bit per known key
	for len(s) > 0 {
		var field []byte
		field, s = nextField(s)
		if len(field) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(field, []byte{'='})
		if !ok {
			return PSILine{}, fmt.Errorf("field %q is not key=value", string(field))
		}
		var err error
		var bit uint8
		switch string(k) {
		case "avg10":
			bit = 1
			l.Avg10, err = parseAvg(v)
		case "avg60":
			bit = 2
			l.Avg60, err = parseAvg(v)
		case "avg300":
			bit = 4
			l.Avg300, err = parseAvg(v)
		case "total":
			bit = 8
			n, ok := atou(v)
			if !ok {
				_, err = strconv.ParseUint(string(v), 10, 64) // the error, for the message
				if err == nil {
					err = fmt.Errorf("%q: not a number", string(v))
				}
			}
			l.Total = n
		default:
			continue
		}
		if err != nil {
			return PSILine{}, fmt.Errorf("%s: %v", string(k), err)
		}
		if seen&bit != 0 {
			return PSILine{}, fmt.Errorf("duplicate %s", string(k))
		}
		seen |= bit
	}
	if seen != 15 {
		return PSILine{}, fmt.Errorf("want avg10, avg60, avg300 and total")
	}
	return l, nil
}

// nextField splits the first space-separated field off s (leading white
// space skipped).
func nextField(s []byte) (field, rest []byte) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func parseAvg(v []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > 100 || f != f {
		return 0, fmt.Errorf("%q out of range 0..100", string(v))
	}
	return f, nil
}
