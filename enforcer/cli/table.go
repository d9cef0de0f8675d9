package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table lays out rows in aligned columns separated by two spaces. Columns
// named in right are right-aligned (numbers); the last column is never
// padded. With maxWidth > 0, lines are cut to that many characters.
type table struct {
	header   []string
	right    map[int]bool
	rows     [][]string
	maxWidth int
}

func newTable(header ...string) *table { return &table{header: header, right: map[int]bool{}} }

// alignRight right-aligns the columns at the given indexes.
func (t *table) alignRight(cols ...int) *table {
	for _, c := range cols {
		t.right[c] = true
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write renders the table.
func (t *table) write(w io.Writer) error {
	all := append([][]string{t.header}, t.rows...)
	width := make([]int, len(t.header))
	for _, r := range all {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	for _, r := range all {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := 0
			if i < len(width) {
				pad = width[i] - utf8.RuneCountInString(c)
			}
			last := i == len(r)-1
			switch {
			case t.right[i]:
				line.WriteString(strings.Repeat(" ", pad) + c)
			case last:
				line.WriteString(c)
			default:
				line.WriteString(c + strings.Repeat(" ", pad))
			}
		}
		s := strings.TrimRight(line.String(), " ")
		if t.maxWidth > 0 && utf8.RuneCountInString(s) > t.maxWidth {
			s = string([]rune(s)[:t.maxWidth])
		}
		b.WriteString(s + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
