package policies

import "strconv"

// KeyPositions says where each key of a TOML document was written, for
// callers outside this package that check a TOML file of their own the way
// Load checks a policy (quelld's config file). data must be a document the
// TOML parser has accepted.
type KeyPositions struct{ ps positions }

// ScanKeyPositions scans data, naming file in the positions it returns.
func ScanKeyPositions(file string, data []byte) KeyPositions {
	return KeyPositions{scanPositions(file, string(data))}
}

// At returns where the key at path was written (array elements by their
// index, e.g. At("pre_evict_hook", "0")), else its nearest recorded
// ancestor, else a Pos with line 0.
func (k KeyPositions) At(path ...string) Pos { return k.ps.at(path) }

// AtIndex is At for element i of the array at key.
func (k KeyPositions) AtIndex(key string, i int) Pos { return k.ps.at([]string{key, strconv.Itoa(i)}) }

// SuggestKey returns the entry of known nearest to k when it is a likely
// typo (at most two edits away, one for short keys), else "".
func SuggestKey(k string, known []string) string { return suggest(k, known) }

// SyntaxError turns an error of the TOML parser on file into an *Error with
// the position the parser gave.
func SyntaxError(file string, err error) *Error { return syntaxError(file, err) }

// Describe names a decoded TOML value's type and value for a message, e.g.
// `string "yes"`, `integer 3`, `array`.
func Describe(v any) string { return describe(v) }
