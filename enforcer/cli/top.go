package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ANSI sequences for the live view.
const (
	altScreenOn  = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	altScreenOff = "\x1b[?25h\x1b[?1049l"
	home         = "\x1b[H"
	clearEOL     = "\x1b[K"
	clearEOS     = "\x1b[J"
)

func topCmd() *command {
	o := topOpts{sortBy: "cpu", interval: time.Second}
	return &command{
		name:    "top",
		summary: "Live usage per tenant against its limits",
		detail: "CPU is used/limit in CPUs, THR the share of periods throttled, MEM and SWAP\n" +
			"used/limit, IO and NET rates, PIDS used/limit, DISK used/quota, PSI the some avg10\n" +
			"pressure of cpu/memory/io, LAST ACTION what quell last did.\n\n" +
			"On a terminal the table redraws in place, at the terminal's size (redrawn when it is\n" +
			"resized; rows that do not fit are cut from the bottom and counted), until q or Ctrl-C.\n" +
			"Keys re-sort it at once: c cpu, m mem, i io, n name, p pids. Otherwise (a pipe,\n" +
			"--once, --json) frames are printed one after another.",
		examples: []string{"quell top", "quell top -c --sort mem", "quell top --once --json | jq '.tenants[].usage.cpus'"},
		setFlags: func(f *flags) {
			f.boolVar(&o.containers, "c", "containers", "show each tenant's containers under it")
			f.stringVar(&o.sortBy, "s", "sort", "KEY", "sort by cpu, mem, io, pids or name")
			f.durationVar(&o.interval, "n", "interval", "refresh every DURATION")
			f.boolVar(&o.once, "", "once", "print one frame and exit")
		},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			if err := oneOf("sort", o.sortBy, sortKeys...); err != nil {
				return 0, err
			}
			if o.interval < 100*time.Millisecond {
				return 0, usagef("--interval %s: want at least 100ms", o.interval)
			}
			return runTop(e, o)
		},
	}
}

func runTop(e *env, o topOpts) (int, error) {
	svc, direct, err := e.reader()
	if err != nil {
		return 0, err
	}
	if tty, _ := e.opts.IsTerminal(e.stdout); tty && !o.once && !e.g.json {
		return runTopLive(e, svc, direct, o)
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for first := true; ; first = false {
		v, err := svc.View(e.ctx)
		switch {
		case err != nil && e.ctx.Err() != nil:
			return ExitOK, nil
		case err != nil:
			return 0, err
		case e.g.json && o.once:
			if err := e.printJSON(v); err != nil {
				return 0, err
			}
		case e.g.json:
			b, err := json.Marshal(v)
			if err != nil {
				return 0, err
			}
			if _, err := fmt.Fprintf(e.stdout, "%s\n", b); err != nil {
				return 0, err
			}
		default:
			if !first {
				io.WriteString(e.stdout, "\n")
			}
			if _, err := io.WriteString(e.stdout, renderTop(v, o, direct, 0)); err != nil {
				return 0, err
			}
		}
		if o.once {
			return ExitOK, nil
		}
		select {
		case <-e.ctx.Done():
			return ExitOK, nil
		case <-tick.C:
		}
	}
}

// fitWidth cuts every line of s to width characters (no cut when width <= 0),
// so that a terminal never wraps the live view.
func fitWidth(s string, width int) string {
	if width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if r := []rune(l); len(r) > width {
			lines[i] = string(r[:width])
		}
	}
	return strings.Join(lines, "\n")
}
