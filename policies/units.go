package policies

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

var bitUnits = map[string]int64{
	"bit":  1,
	"Kbit": 1e3, "kbit": 1e3, "Mbit": 1e6, "mbit": 1e6, "Gbit": 1e9, "gbit": 1e9, "Tbit": 1e12, "tbit": 1e12,
	"Kibit": 1 << 10, "Mibit": 1 << 20, "Gibit": 1 << 30, "Tibit": 1 << 40,
}

const (
	sizeUnitList = "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
	rateUnitList = "bit, Kbit, Mbit, Gbit, Tbit, Kibit, Mibit, Gibit or a byte unit (B, KB, MB, GB, KiB, MiB, GiB), optionally followed by /s"
)

// ParseSize parses a size in bytes: "512", "0", "1.5GB" (B, KB, MB, GB, TB
// are powers of 10), "4GiB" (KiB, MiB, GiB, TiB are powers of 2); a space
// between number and unit is allowed. Units are case-sensitive (except "kB")
// because "Mb" usually means megabits. A fraction of a byte is rounded down;
// a fraction with no unit, a sign, an exponent, an unknown unit or a size above
// math.MaxInt64 is an error.
func ParseSize(s string) (int64, error) {
	num, unit, err := splitQuantity(s)
	if err != nil {
		return 0, err
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q (use %s)", unit, sizeUnitList)
	}
	if mult == 1 && !num.IsInt() {
		return 0, fmt.Errorf("%q is a fraction of a byte", s)
	}
	v, ok := scale(num, mult, math.MaxInt64)
	if !ok {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}

// ParseRate parses a bandwidth and returns it in bits per second: "100Mbit"
// (bit, Kbit, Mbit, Gbit, Tbit are powers of 10; Kibit, Mibit, Gibit, Tibit
// powers of 2; tc's lowercase "mbit" is accepted) or a byte form "10MB" (= 80
// Mbit; the units of [ParseSize]), each optionally followed by "/s". A number
// without a unit is an error, since bits and bytes differ by 8. A fraction of
// a bit is rounded down; a sign, an unknown unit or a rate that does not fit
// in a uint64 is an error.
func ParseRate(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	num, unit, err := splitQuantity(t)
	if err != nil {
		return 0, err
	}
	if unit == "" {
		return 0, fmt.Errorf("rate %q has no unit (use %s)", s, rateUnitList)
	}
	var mult int64
	if m, ok := bitUnits[unit]; ok {
		mult = m
	} else if m, ok := sizeUnits[unit]; ok {
		mult = m * 8
	} else {
		return 0, fmt.Errorf("unknown rate unit %q (use %s)", unit, rateUnitList)
	}
	v, ok := scale(num, mult, math.MaxUint64)
	if !ok {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v, nil
}

// splitQuantity splits "1.5 GiB" into the exact number 3/2 and the unit "GiB".
func splitQuantity(s string) (*big.Rat, string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, "", errors.New("empty value")
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	intEnd := i
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == intEnd+1 {
			return nil, "", fmt.Errorf("%q: no digits after the decimal point", s)
		}
	}
	if intEnd == 0 {
		if t[0] == '-' {
			return nil, "", fmt.Errorf("%q is negative", s)
		}
		return nil, "", fmt.Errorf("%q does not start with a number", s)
	}
	if i > 40 {
		return nil, "", fmt.Errorf("%q has too many digits", s)
	}
	num, ok := new(big.Rat).SetString(t[:i])
	if !ok {
		return nil, "", fmt.Errorf("%q is not a number", s)
	}
	return num, strings.TrimLeft(t[i:], " "), nil
}

// scale returns floor(num*mult) when it is at most max.
func scale(num *big.Rat, mult int64, max uint64) (uint64, bool) {
	r := new(big.Rat).Mul(num, new(big.Rat).SetInt64(mult))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsUint64() || q.Uint64() > max {
		return 0, false
	}
	return q.Uint64(), true
}
