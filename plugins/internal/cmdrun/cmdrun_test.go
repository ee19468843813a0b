package cmdrun

import (
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "abc\r", "abc"},
		{"long ascii", strings.Repeat("x", MaxLine+10), strings.Repeat("x", MaxLine)},
		{"cut inside a rune", strings.Repeat("x", MaxLine-1) + "é", strings.Repeat("x", MaxLine-1)},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"carriage returns", "5%\r10%\rdone\r", "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cut([]byte(tt.in)); got != tt.want {
				t.Errorf("cut = %q (%d bytes), want %d bytes", got, len(got), len(tt.want))
			}
		})
	}
}

func TestText(t *testing.T) {
	lines := []Line{{Stdout, "a"}, {Stderr, "e"}, {Stdout, "b"}}
	if got := Text(lines, Stdout); got != "a\nb\n" {
		t.Errorf("Text = %q", got)
	}
}
