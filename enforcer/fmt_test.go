package enforcer

import "fmt"

func fmtSscan(s string, a ...any) (int, error) { return fmt.Sscan(s, a...) }

func strconvF(f float64) string { return fmt.Sprintf("%.2f", f) }
