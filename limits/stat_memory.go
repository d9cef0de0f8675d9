package limits

import (
	"fmt"
	"io"
)

// MemoryEvents is memory.events: how many times each boundary was hit.
type MemoryEvents struct {
	Low, High, Max, OOM, OOMKill uint64
	OOMGroupKill                 *uint64 // kernel >= 5.17; nil when not printed
}

// parseMemoryEvents parses memory.events (or memory.events.local).
// low, high, max, oom and oom_kill are required; unknown keys are ignored.
func parseMemoryEvents(r io.Reader) (MemoryEvents, error) {
	b, err := slurp(r)
	if err != nil {
		return MemoryEvents{}, err
	}
	var e MemoryEvents
	var seen uint8
	err = eachKV("memory.events", b, func(k, v []byte) error {
		var dst *uint64
		var bit uint8
		switch string(k) {
		case "low":
			dst, bit = &e.Low, 1
		case "high":
			dst, bit = &e.High, 2
		case "max":
			dst, bit = &e.Max, 4
		case "oom":
			dst, bit = &e.OOM, 8
		case "oom_kill":
			dst, bit = &e.OOMKill, 16
		case "oom_group_kill":
			e.OOMGroupKill = new(uint64)
			dst = e.OOMGroupKill
		default:
			return nil
		}
		n, ok := atou(v)
		if !ok {
			return errSyntax("memory.events", string(k)+" "+string(v))
		}
		*dst, seen = n, seen|bit
		return nil
	})
	if err != nil {
		return MemoryEvents{}, err
	}
	if seen != 31 {
		return MemoryEvents{}, fmt.Errorf("memory.events: low, high, max, oom or oom_kill missing: %w", ErrSyntax)
	}
	return e, nil
}

// MemoryStat is a selection of memory.stat, in bytes except the page
// fault counters (events). All fields are printed by every kernel since
// 5.0; AnonTHP and Kernel only on some configurations and versions, so
// they are nil when absent.
type MemoryStat struct {
	Anon, File, KernelStack, Sock, Shmem uint64
	FileMapped, FileDirty, FileWriteback uint64
	InactiveAnon, ActiveAnon             uint64
	InactiveFile, ActiveFile             uint64
	Unevictable                          uint64
	SlabReclaimable, SlabUnreclaimable   uint64
	PgFault, PgMajFault                  uint64
	AnonTHP                              *uint64 // CONFIG_TRANSPARENT_HUGEPAGE
	Kernel                               *uint64 // kernel >= 5.18
}

// memoryStatRequired is the bit mask of the required MemoryStat keys.
const memoryStatRequired = 1<<17 - 1

// parseMemoryStat parses memory.stat. Every non-pointer field's key is
// required (ErrSyntax if missing, so absence never reads as zero); unknown
// keys are ignored.
func parseMemoryStat(r io.Reader) (MemoryStat, error) {
	b, err := slurp(r)
	if err != nil {
		return MemoryStat{}, err
	}
	return parseMemoryStatBytes(b)
}

func parseMemoryStatBytes(b []byte) (MemoryStat, error) {
	var s MemoryStat
	var seen uint32
	err := eachKV("memory.stat", b, func(k, v []byte) error {
		var dst *uint64
		var bit uint32
		switch string(k) {
		case "anon":
			dst, bit = &s.Anon, 1<<0
		case "file":
			dst, bit = &s.File, 1<<1
		case "kernel_stack":
			dst, bit = &s.KernelStack, 1<<2
		case "sock":
			dst, bit = &s.Sock, 1<<3
		case "shmem":
			dst, bit = &s.Shmem, 1<<4
		case "file_mapped":
			dst, bit = &s.FileMapped, 1<<5
		case "file_dirty":
			dst, bit = &s.FileDirty, 1<<6
		case "file_writeback":
			dst, bit = &s.FileWriteback, 1<<7
		case "inactive_anon":
			dst, bit = &s.InactiveAnon, 1<<8
		case "active_anon":
			dst, bit = &s.ActiveAnon, 1<<9
		case "inactive_file":
			dst, bit = &s.InactiveFile, 1<<10
		case "active_file":
			dst, bit = &s.ActiveFile, 1<<11
		case "unevictable":
			dst, bit = &s.Unevictable, 1<<12
		case "slab_reclaimable":
			dst, bit = &s.SlabReclaimable, 1<<13
		case "slab_unreclaimable":
			dst, bit = &s.SlabUnreclaimable, 1<<14
		case "pgfault":
			dst, bit = &s.PgFault, 1<<15
		case "pgmajfault":
			dst, bit = &s.PgMajFault, 1<<16
		case "anon_thp":
			s.AnonTHP = new(uint64)
			dst = s.AnonTHP
		case "kernel":
			s.Kernel = new(uint64)
			dst = s.Kernel
		default:
			return nil
		}
		n, ok := atou(v)
		if !ok {
			return errSyntax("memory.stat", string(k)+" "+string(v))
		}
		*dst, seen = n, seen|bit
		return nil
	})
	if err != nil {
		return MemoryStat{}, err
	}
	if seen != memoryStatRequired {
		return MemoryStat{}, fmt.Errorf("memory.stat: required keys missing (mask %#x): %w", seen^memoryStatRequired, ErrSyntax)
	}
	return s, nil
}
