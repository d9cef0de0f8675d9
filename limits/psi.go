package limits

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	b, err := readAllFD(fd, path)
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure: %w", err)
	}
	p, err := ParsePSI(bytes.NewReader(b))
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
	var p PSI
	var haveSome bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		var dst *PSILine
		switch kind {
		case "some":
			if haveSome {
				return PSI{}, fmt.Errorf("%w: duplicate %q line", ErrPSIFormat, kind)
			}
			dst, haveSome = &p.Some, true
		case "full":
			if p.HasFull {
				return PSI{}, fmt.Errorf("%w: duplicate %q line", ErrPSIFormat, kind)
			}
			dst, p.HasFull = &p.Full, true
		default:
			continue
		}
		l, err := parsePSILine(rest)
		if err != nil {
			return PSI{}, fmt.Errorf("%w: %s line: %v", ErrPSIFormat, kind, err)
		}
		*dst = l
	}
	if err := sc.Err(); err != nil {
		return PSI{}, fmt.Errorf("parse pressure: %w", err)
	}
	if !haveSome {
		return PSI{}, fmt.Errorf("%w: no \"some\" line", ErrPSIFormat)
	}
	return p, nil
}

func parsePSILine(s string) (PSILine, error) {
	var l PSILine
	var seen uint8 // bit per known key
	for _, field := range strings.Fields(s) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return PSILine{}, fmt.Errorf("field %q is not key=value", field)
		}
		var err error
		var bit uint8
		switch k {
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
			l.Total, err = strconv.ParseUint(v, 10, 64)
		default:
			continue
		}
		if err != nil {
			return PSILine{}, fmt.Errorf("%s: %v", k, err)
		}
		if seen&bit != 0 {
			return PSILine{}, fmt.Errorf("duplicate %s", k)
		}
		seen |= bit
	}
	if seen != 15 {
		return PSILine{}, fmt.Errorf("want avg10, avg60, avg300 and total")
	}
	return l, nil
}

func parseAvg(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > 100 || f != f {
		return 0, fmt.Errorf("%q out of range 0..100", v)
	}
	return f, nil
}
