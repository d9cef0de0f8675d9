package limits

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParsePSI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    PSI
		wantErr bool
	}{
		{
			name: "memory with full",
			in: "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n" +
				"full avg10=0.75 avg60=0.10 avg300=0.00 total=678\n",
			want: PSI{
				Some:    PSILine{Avg10: 1.5, Avg60: 0.25, Total: 12345},
				Full:    PSILine{Avg10: 0.75, Avg60: 0.1, Total: 678},
				HasFull: true,
			},
		},
		{
			name: "cpu without full line (kernel < 5.13)",
			in:   "some avg10=63.20 avg60=40.00 avg300=12.00 total=99\n",
			want: PSI{Some: PSILine{Avg10: 63.2, Avg60: 40, Avg300: 12, Total: 99}},
		},
		{
			name: "no trailing newline, extra key ignored",
			in:   "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 future=1",
			want: PSI{},
		},
		{
			name: "unknown line ignored",
			in:   "some avg10=2.00 avg60=0.00 avg300=0.00 total=5\nnew avg10=1\n",
			want: PSI{Some: PSILine{Avg10: 2, Total: 5}},
		},
		{name: "empty", in: "", wantErr: true},
		{name: "only full", in: "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "garbage", in: "\x00\x01binary junk\n", wantErr: true},
		{name: "missing total", in: "some avg10=0.00 avg60=0.00 avg300=0.00\n", wantErr: true},
		{name: "duplicate key", in: "some avg10=0.00 avg10=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "not key=value", in: "some avg10 0.00 avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "bad float", in: "some avg10=x avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "out of range", in: "some avg10=101.00 avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "NaN", in: "some avg10=NaN avg60=0.00 avg300=0.00 total=0\n", wantErr: true},
		{name: "negative total", in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n", wantErr: true},
		{
			name: "duplicate some line",
			in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" +
				"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePSI(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrPSIFormat) {
					t.Fatalf("ParsePSI(%q) = %+v, %v; want ErrPSIFormat", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePSI(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePSI(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePSIReaderErrorIsNotZero(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("some avg10=1.00 avg60=0.00 avg300=0.00 total=1\n"), iotest.ErrReader(boom))
	if _, err := ParsePSI(r); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestReadPSIMissingFile(t *testing.T) {
	t.Parallel()
	_, err := ReadPSI(t.TempDir() + "/gone/cpu.pressure")
	if err == nil || !strings.Contains(err.Error(), "gone/cpu.pressure") {
		t.Fatalf("err = %v, want an error naming the path", err)
	}
}

func TestReadPSIDoesNotAllocateMuch(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/cpu.pressure"
	if err := os.WriteFile(p, []byte("some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=678\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got PSI
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if got, err = ReadPSI(p); err != nil {
			t.Fatal(err)
		}
	})
	if got.Some.Avg10 != 1.5 || got.Some.Total != 12345 || !got.HasFull || got.Full.Total != 678 {
		t.Fatalf("ReadPSI = %+v", got)
	}
	// The path handed to open(2) is the one allocation left.
	if allocs > 1 && !raceEnabled {
		t.Errorf("%v allocations per ReadPSI, want at most 1", allocs)
	}
}
