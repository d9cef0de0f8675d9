package limits

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultFreezeTimeout bounds Freeze and Thaw when ctx has no deadline.
const DefaultFreezeTimeout = 10 * time.Second

// ErrFreezeTimeout: cgroup.freeze was written but cgroup.events did not
// report the new state before the deadline. The kernel keeps trying; the
// request stays in place (a frozen-in-progress cgroup is not thawed).
var ErrFreezeTimeout = errors.New("freezer state not reached")

// Freeze writes 1 to cg's cgroup.freeze and waits until cgroup.events says
// "frozen 1", polling (1 ms doubling to 50 ms) until ctx is done, or
// DefaultFreezeTimeout if ctx has no deadline. Errors: ErrUnsafe (root,
// init.scope, quelld's own cgroup; nothing written), ErrGone, ErrMissing
// (no cgroup.freeze: kernel < 5.2), ErrFreezeTimeout wrapping ctx's error.
func (f *FS) Freeze(ctx context.Context, cg string) error {
	return f.setFrozen(ctx, cg, true)
}

// Thaw writes 0 to cg's cgroup.freeze and waits for "frozen 0", with the
// same rules and errors as Freeze. Thawing a cgroup that is not frozen is
// a no-op success. A cgroup whose parent is frozen stays frozen: Thaw then
// times out.
func (f *FS) Thaw(ctx context.Context, cg string) error {
	return f.setFrozen(ctx, cg, false)
}

func (f *FS) setFrozen(ctx context.Context, cg string, frozen bool) error {
	d, err := f.writable(cg)
	if err != nil {
		return err
	}
	v, verb := "0", "thaw"
	if frozen {
		v, verb = "1", "freeze"
	}
	if err := writeFile(d, "cgroup.freeze", v); err != nil {
		return fmt.Errorf("%s %s: %w", verb, cg, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFreezeTimeout)
		defer cancel()
	}
	wait := time.Millisecond
	for {
		b, err := readFile(d, "cgroup.events")
		if err != nil {
			return fmt.Errorf("%s %s: %w", verb, cg, err)
		}
		ev, err := parseCgroupEvents(bytesReader(b))
		if err != nil {
			return fmt.Errorf("%s %s: %s/cgroup.events: %w", verb, cg, d, err)
		}
		if ev.Frozen == frozen {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s %s: %w: %w", verb, cg, ErrFreezeTimeout, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// Kill writes 1 to cg's cgroup.kill: the kernel SIGKILLs every process in
// cg and its descendants at once (no race with forks). It returns when the
// write is done, not when the processes are gone (watch "populated 0" in
// cgroup.events). Errors: ErrUnsafe (nothing written), ErrGone, ErrMissing
// (no cgroup.kill: kernel < 5.14).
func (f *FS) Kill(cg string) error {
	d, err := f.writable(cg)
	if err != nil {
		return err
	}
	if err := writeFile(d, "cgroup.kill", "1"); err != nil {
		return fmt.Errorf("kill %s: %w", cg, err)
	}
	return nil
}

// Procs returns the PIDs in cg's cgroup.procs (processes directly in cg,
// not in its descendants), in the kernel's order; an empty cgroup gives an
// empty, non-nil slice. The root cgroup may be read. Errors: ErrGone,
// ErrSyntax for a line that is not a PID, I/O errors.
func (f *FS) Procs(cg string) ([]int, error) {
	d, err := f.dir(cg)
	if err != nil {
		return nil, err
	}
	b, err := readFile(d, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	pids, err := parseProcs(bytesReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s/cgroup.procs: %w", d, err)
	}
	return pids, nil
}
