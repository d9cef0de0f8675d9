package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// The iocost model the io.weight case sets for the ext4 disk: 8 MiB/s and
// 2048 4 KiB IOs per second each way, well under what the emulated virtio
// disk does, so that iocost (not the disk) is what the readers contend for
// and the split between them is iocost's. vrate is pinned at 100% (min =
// max = 100) and the latency targets are off, so iocost does not rescale
// the model while the case measures.
const (
	iocostModel = "ctrl=user model=linear rbps=8388608 rseqiops=2048 rrandiops=2048 wbps=8388608 wseqiops=2048 wrandiops=2048"
	iocostQoS   = "enable=1 ctrl=user rpct=0.00 rlat=0 wpct=0.00 wlat=0 min=100.00 max=100.00"
)

// ioWeightCase: the iocost controller enabled on the ext4 disk (io.cost.qos
// and io.cost.model at the cgroup root), two sibling cgroups with
// io.weight 200 and 100 each reading its own file with O_DIRECT flat out;
// achieved = the ratio of their io.stat rbytes over a window. io.cost.qos
// is put back to enable=0 and the model to ctrl=auto afterwards.
func ioWeightCase() Case {
	return Case{Section: Fidelity, Name: "io.weight 200:100 (iocost)", Est: 25 * time.Second,
		Needs: needExt4,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			ma, mi, err := wholeDiskOf(env.Ext4Dev)
			if err != nil {
				return nil, err
			}
			weights := []uint64{200, 100}
			var cgs []*cgroup
			for i, w := range weights {
				c, err := newCgroup(env, fmt.Sprintf("bench.slice/ioweight-%d", i))
				if err != nil {
					return nil, err
				}
				defer c.remove()
				if err := c.apply(limits.Resources{IOWeight: u64(w)}); err != nil {
					return nil, err
				}
				cgs = append(cgs, c)
			}
			// Lay both files down before iocost is on.
			var paths []string
			for i, c := range cgs {
				p := filepath.Join(env.Ext4, fmt.Sprintf("bench-ioweight-%d", i))
				defer os.Remove(p)
				if err := runHelper(env, c.dir, "dio", fmt.Sprintf("w %d %s %d", 1<<20, p, 64)); err != nil {
					return nil, err
				}
				paths = append(paths, p)
			}
			restore, err := enableIOCost(env.CgroupRoot, ma, mi)
			if err != nil {
				return nil, err
			}
			defer restore() // again, harmless, if the baseline ran
			for i, c := range cgs {
				p, err := labkit.StartChild(env.Self, c.dir, "dioread", paths[i], false)
				if err != nil {
					return nil, err
				}
				defer p.Kill()
			}
			time.Sleep(pick(smoke, 2*time.Second, 3*time.Second))
			win := pick(smoke, 5*time.Second, 10*time.Second)
			var before, after [2]limits.IODevice
			for i, c := range cgs {
				if before[i], err = c.ioDev(ma, mi); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			time.Sleep(win)
			for i, c := range cgs {
				if after[i], err = c.ioDev(ma, mi); err != nil {
					return nil, err
				}
			}
			secs := time.Since(t0).Seconds()
			a, b := float64(after[0].RBytes-before[0].RBytes), float64(after[1].RBytes-before[1].RBytes)
			if b == 0 {
				return nil, fmt.Errorf("the weight-100 reader read nothing in %v (io.stat %+v → %+v)", win, before[1], after[1])
			}
			stat, _ := os.ReadFile(filepath.Join(env.CgroupRoot, "io.cost.qos"))
			rs := []Result{Result{Control: "io.weight", Case: "io.weight 200:100 iocost", Set: 2, Achieved: round(a/b, 3), Unit: "ratio",
				Extra: map[string]float64{"w200_mib_s": round(a/secs/(1<<20), 2), "w100_mib_s": round(b/secs/(1<<20), 2),
					"model_mib_s": 8},
				Method: fmt.Sprintf("iocost on ext4 %s (%d:%d), io.cost.model %q, io.cost.qos %q; two sibling cgroups io.weight 200 and 100 each reading its 64 MiB file O_DIRECT 1 MiB flat out; ratio of io.stat rbytes deltas over %v (root io.cost.qos read back: %s)",
					env.Ext4Dev, ma, mi, iocostModel, iocostQoS, win, strings.TrimSpace(string(stat)))}.WithError()}
			// The same readers with iocost off again: what io.weight alone
			// does on this disk's scheduler.
			restore()
			time.Sleep(time.Second)
			for i, c := range cgs {
				if before[i], err = c.ioDev(ma, mi); err != nil {
					return nil, err
				}
			}
			t0 = time.Now()
			time.Sleep(win / 2)
			for i, c := range cgs {
				if after[i], err = c.ioDev(ma, mi); err != nil {
					return nil, err
				}
			}
			secs = time.Since(t0).Seconds()
			a, b = float64(after[0].RBytes-before[0].RBytes), float64(after[1].RBytes-before[1].RBytes)
			if b > 0 {
				sched, _ := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/queue/scheduler", ma, mi))
				rs = append(rs, Result{Control: "io.weight", Case: "io.weight 200:100 without iocost (baseline)", Set: 2, Achieved: round(a/b, 3), Unit: "ratio",
					Extra:  map[string]float64{"w200_mib_s": round(a/secs/(1<<20), 2), "w100_mib_s": round(b/secs/(1<<20), 2)},
					Method: fmt.Sprintf("the same two readers right after io.cost.qos enable=0, over %v; scheduler %s", win/2, strings.TrimSpace(string(sched)))}.WithError())
			}
			return crossChecked(env, rs, cgs...)
		}}
}

// enableIOCost writes the model, then the QoS that enables iocost, for
// device ma:mi at the cgroup root; restore disables it again and hands the
// model back to the kernel (ctrl=auto). The root cgroup is the bench's to
// write here: quell's limits refuse it, as they should.
func enableIOCost(root string, ma, mi uint32) (restore func(), err error) {
	dev := fmt.Sprintf("%d:%d", ma, mi)
	qos, model := filepath.Join(root, "io.cost.qos"), filepath.Join(root, "io.cost.model")
	write := func(p, v string) error {
		if err := os.WriteFile(p, []byte(dev+" "+v), 0o644); err != nil {
			return fmt.Errorf("write %q to %s: %w", dev+" "+v, p, err)
		}
		return nil
	}
	restore = func() {
		_ = write(qos, "enable=0")
		_ = write(model, "ctrl=auto")
	}
	if err := write(model, iocostModel); err != nil {
		return nil, err
	}
	if err := write(qos, iocostQoS); err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}
