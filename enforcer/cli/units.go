package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// fmtNum formats v with one decimal below 10 and none above, dropping ".0":
// 1.25 → "1.2", 4 → "4", 12.5 → "12".
func fmtNum(v float64) string {
	if v < 10 {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0")
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// scale divides v by base until it is below base and returns the result and
// the number of divisions, at most len(units)-1.
func scale(v, base float64, units []string) (float64, string) {
	i := 0
	for v >= base && i < len(units)-1 {
		v /= base
		i++
	}
	return v, units[i]
}

var (
	iecUnits  = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	siUnits   = []string{"B", "KB", "MB", "GB", "TB", "PB"}
	bitsUnits = []string{"bit", "Kbit", "Mbit", "Gbit", "Tbit"}
)

// fmtBytes formats a size in powers of 2: 536870912 → "512MiB".
func fmtBytes(b int64) string {
	if b < 0 {
		return "?"
	}
	v, u := scale(float64(b), 1024, iecUnits)
	return fmtNum(v) + u
}

// fmtByteRate formats bytes/s in powers of 10: 3100000 → "3.1MB/s".
func fmtByteRate(bps float64) string {
	if bps < 0 {
		return "?"
	}
	v, u := scale(bps, 1000, siUnits)
	return fmtNum(v) + u + "/s"
}

// fmtBitRate formats bits/s in powers of 10: 100000000 → "100Mbit/s".
func fmtBitRate(bps float64) string {
	if bps < 0 {
		return "?"
	}
	v, u := scale(bps, 1000, bitsUnits)
	return fmtNum(v) + u + "/s"
}

// pair formats "used/limit", with "-" for no limit.
func pair(used, limit string) string {
	if limit == "" {
		limit = "-"
	}
	return used + "/" + limit
}

// fmtCPUs formats used/limit CPUs: "1.2/2.5", "1.2/-".
func fmtCPUs(used, limit float64) string {
	l := ""
	if limit > 0 {
		l = fmtNum(limit)
	}
	return pair(fmtNum(used), l)
}

// fmtBytesPair formats used/limit sizes: "512MiB/4GiB", "512MiB/-".
func fmtBytesPair(used, limit int64) string {
	l := ""
	if limit > 0 {
		l = fmtBytes(limit)
	}
	return pair(fmtBytes(used), l)
}

// fmtCount formats used/limit counts: "42/4096", "42/-".
func fmtCount(used, limit int64) string {
	l := ""
	if limit > 0 {
		l = strconv.FormatInt(limit, 10)
	}
	return pair(strconv.FormatInt(used, 10), l)
}

// fmtPct formats a percentage without decimals: 12.5 → "12%".
func fmtPct(p float64) string { return fmt.Sprintf("%.0f%%", p) }

// fmtPSI formats cpu/memory/io some avg10 pressures: "10/0/5".
func fmtPSI(cpu, mem, io float64) string {
	return fmt.Sprintf("%.0f/%.0f/%.0f", cpu, mem, io)
}

// shortID shortens a 64-hex runtime ID to 12 characters, like docker ps.
func shortID(id string) string {
	if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
		return id[:12]
	}
	return id
}
