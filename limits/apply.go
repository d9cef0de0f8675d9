package limits

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Change is one file whose current value differs from the desired one.
type Change struct {
	File string
	Old  string // current value; "" if the file had no counterpart in current
	New  string // desired value
}

// Result is what Apply did to one Write.
type Result struct {
	File    string
	Old     string // value before Apply (the original to restore); "" if it could not be read
	Wanted  string // value asked for
	Got     string // value read back after the write (= Old when nothing was written)
	Changed bool   // a write was made and the kernel accepted it
	Rounded bool   // Got differs from Wanted only by the kernel's rounding (page size)
	// Reclaiming: a memory.high write that is in force but
	// whose write(2) has not returned yet — the kernel is still reclaiming
	// the cgroup down to it (reclaim.go).
	Reclaiming bool
	Err        error // this file failed: read, write (EINVAL, EBUSY…), or read-back (ErrNotApplied)
}

// ioMaxAllMax is the io.max value meaning "no limit on this device"; the
// kernel prints no line for such a device, and writing it removes the line.
const ioMaxAllMax = " rbps=max wbps=max riops=max wiops=max"

// current returns the value of the file w names as the kernel shows it,
// picked out for w: io.max yields only w's device line (all-max if the
// kernel prints none), io.weight only its "default N" line. cache holds
// file contents already read during this call.
func current(dir string, w Write, cache map[string]string, read func(dir, file string) ([]byte, error)) (string, error) {
	if err := checkName(w.File); err != nil {
		return "", err
	}
	text, ok := cache[w.File]
	if !ok {
		b, err := read(dir, w.File)
		if err != nil {
			return "", err
		}
		text = strings.TrimRight(string(b), "\n")
		if cache != nil {
			cache[w.File] = text
		}
	}
	switch w.File {
	case "io.max":
		dev, _, err := parseIOMaxLine(w.Value)
		if err != nil {
			return "", fmt.Errorf("io.max value: %w", err)
		}
		for _, line := range strings.Split(text, "\n") {
			if d, _, ok := strings.Cut(line, " "); ok && d == dev {
				return line, nil
			}
		}
		return dev + ioMaxAllMax, nil
	case "io.weight":
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "default ") {
				return line, nil
			}
		}
		return "", fmt.Errorf("read %s/io.weight: no default line: %w", dir, errSyntax("io.weight", text))
	}
	return text, nil
}

// Current returns the present value of every file in ws, in the same
// order, so the result can be diffed against ws or stored for Restore.
// io.max entries get the line of their own device (an unlimited device,
// which the kernel does not print, comes back as
// "MAJ:MIN rbps=max wbps=max riops=max wiops=max"); io.weight entries get
// the "default N" line. The root cgroup may be read. Any failure returns
// nil and the first error (ErrGone, ErrMissing, ErrUnsafe, ErrSyntax or an
// I/O error); nothing is guessed.
func (f *FS) Current(cg string, ws []Write) ([]Write, error) {
	d, err := f.dir(cg)
	if err != nil {
		return nil, err
	}
	cache := map[string]string{}
	out := make([]Write, 0, len(ws))
	for _, w := range ws {
		v, err := current(d, w, cache, readFile)
		if err != nil {
			return nil, err
		}
		out = append(out, Write{w.File, v})
	}
	return out, nil
}

// writeKey identifies a Write's target: the file, plus the device for io.max.
func writeKey(w Write) string {
	if w.File == "io.max" {
		dev, _, _ := strings.Cut(strings.TrimSpace(w.Value), " ")
		return "io.max " + dev
	}
	return w.File
}

// Diff returns, in desired's order, the desired writes whose value differs
// from the matching entry of current (matched by file, and by device for
// io.max). Values the kernel would show differently but that mean the same
// compare equal: cpuset lists, io.max key order and absent keys (and an
// absent device line equals all-max), whitespace, and memory values the
// kernel rounds down to the page size (a current of 4096 satisfies a
// desired 4097). A desired write with no counterpart in current is a
// Change with Old "". Diff does no I/O.
func (f *FS) Diff(current, desired []Write) []Change {
	cur := make(map[string]string, len(current))
	for _, w := range current {
		cur[writeKey(w)] = w.Value
	}
	var out []Change
	for _, w := range desired {
		old, ok := cur[writeKey(w)]
		if !ok && w.File == "io.max" {
			dev, _, _ := strings.Cut(strings.TrimSpace(w.Value), " ")
			old, ok = dev+ioMaxAllMax, true
		}
		if ok {
			if eq, _ := equivalent(w.File, old, w.Value, f.pageSize); eq {
				continue
			}
		}
		out = append(out, Change{File: w.File, Old: old, New: w.Value})
	}
	return out
}

// Apply makes cgroup cg match ws, in ws's order (see Resources.Writes for
// why the order matters). For each write it reads the current value; if
// that already satisfies the wanted one (as in Diff) it writes nothing
// (Changed=false); otherwise it writes, reads back and checks. A file the
// kernel refuses (EINVAL, EBUSY, ERANGE…), a missing file (ErrMissing) or a
// read-back that differs (ErrNotApplied) is reported in that Result's Err
// and the remaining files are still written. Kernel rounding is accepted
// and flagged with Rounded.
//
// The returned error is nil when every file ended as wanted; otherwise it
// joins the per-file errors. It wraps ErrUnsafe (nothing written) when cg
// is the root, init.scope, quelld's own cgroup or outside the root; ErrGone
// when the cgroup disappears (Apply stops there); ctx's error when ctx is
// cancelled between writes (Apply stops there). Results are returned in all
// cases but ErrUnsafe; Originals(results) are the values to keep for
// Restore.
func (f *FS) Apply(ctx context.Context, cg string, ws []Write) ([]Result, error) {
	d, err := f.writable(cg)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(ws))
	var errs []error
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("apply %s: %w", cg, err))
			break
		}
		r := f.apply1(d, w)
		results = append(results, r)
		if r.Err != nil {
			errs = append(errs, r.Err)
			if errors.Is(r.Err, ErrGone) {
				break
			}
		}
	}
	return results, errors.Join(errs...)
}

// ApplyChanges is Apply of the changes Diff returned, taking each
// change's Old as the file's current value instead of reading it again
// (the caller read it a moment ago to diff; a first pass over 10,000
// containers read every limit file twice). Old "" is read as Apply
// reads. Everything else, the read-back included, is Apply's.
func (f *FS) ApplyChanges(ctx context.Context, cg string, cs []Change) ([]Result, error) {
	d, err := f.writable(cg)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(cs))
	var errs []error
	for _, c := range cs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("apply %s: %w", cg, err))
			break
		}
		var r Result
		if c.Old == "" {
			r = f.apply1(d, Write{c.File, c.New})
		} else {
			r = f.applyFrom(d, Write{c.File, c.New}, c.Old)
		}
		results = append(results, r)
		if r.Err != nil {
			errs = append(errs, r.Err)
			if errors.Is(r.Err, ErrGone) {
				break
			}
		}
	}
	return results, errors.Join(errs...)
}

func (f *FS) apply1(dir string, w Write) Result {
	old, err := current(dir, w, nil, readFile)
	if err != nil {
		return Result{File: w.File, Wanted: w.Value, Err: err}
	}
	return f.applyFrom(dir, w, old)
}

// applyFrom is apply1 with the file's current value old already known.
func (f *FS) applyFrom(dir string, w Write, old string) Result {
	r := Result{File: w.File, Wanted: w.Value}
	if err := checkName(w.File); err != nil {
		r.Err = err
		return r
	}
	r.Old, r.Got = old, old
	if eq, rounded := equivalent(w.File, old, w.Value, f.pageSize); eq {
		r.Rounded = rounded
		return r
	}
	var err2 error
	if reclaimFile(w.File) {
		r.Reclaiming, err2 = f.rc.do(dir, w.File, w.Value, mayReclaim(dir, w.Value))
	} else {
		err2 = writeFile(dir, w.File, w.Value)
	}
	if err2 != nil {
		r.Err = err2
		return r
	}
	r.Changed = true
	if f.afterWrite != nil {
		f.afterWrite(dir+"/"+w.File, w.Value)
	}
	got, err := current(dir, w, nil, readFile)
	if r.Reclaiming {
		// The write runs on its own thread, which a loaded host may not
		// have scheduled by the end of the reclaim wait: give it up to
		// reclaimSettle to land before calling the value not applied.
		for deadline := time.Now().Add(reclaimSettle); err == nil && time.Now().Before(deadline); {
			if eq, _ := equivalent(w.File, got, w.Value, f.pageSize); eq {
				break
			}
			time.Sleep(5 * time.Millisecond)
			got, err = current(dir, w, nil, readFile)
		}
	}
	if err != nil {
		r.Err = fmt.Errorf("read back: %w", err)
		return r
	}
	r.Got = got
	eq, rounded := equivalent(w.File, got, w.Value, f.pageSize)
	r.Rounded = rounded
	if !eq {
		r.Err = fmt.Errorf("%s/%s: wrote %q, reads %q: %w", dir, w.File, w.Value, got, ErrNotApplied)
	}
	return r
}

// Originals returns the values Apply replaced (Old of every Result with
// Changed), in order, ready to be stored and passed to Restore.
func Originals(results []Result) []Write {
	var out []Write
	for _, r := range results {
		if r.Changed {
			out = append(out, Write{r.File, r.Old})
		}
	}
	return out
}

// Restore writes originals (as returned by Originals or Current) back to
// cg with Apply's rules: same safety refusals, only differing files
// written, one failing file does not stop the others. It returns nil when
// every file holds its original again, else the joined errors (ErrGone if
// the cgroup has gone, which for a container that left is the usual case
// and needs no restore).
func (f *FS) Restore(ctx context.Context, cg string, originals []Write) error {
	_, err := f.Apply(ctx, cg, originals)
	if err != nil {
		return fmt.Errorf("restore %s: %w", cg, err)
	}
	return nil
}

// mayReclaim tells whether writing value to memory.high or memory.max of
// dir may make the kernel reclaim: value is below memory.current (or that
// cannot be read). "max" and values above usage return at once.
func mayReclaim(dir, value string) bool {
	v, err := parseMaxBytes("value", []byte(value))
	if err != nil || v == Max {
		return false // a bad value fails in the write itself, at once
	}
	b, err := readFile(dir, "memory.current")
	if err != nil {
		return true
	}
	cur, err := parseMaxBytes("memory.current", b)
	return err != nil || v < cur
}
