package fdlimit

import (
	"runtime"
	"testing"
)

func TestRaiseNeverLowers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	got, err := Raise(256)
	if err != nil || got < 256 {
		t.Fatalf("Raise(256) = %d, %v", got, err)
	}
	again, err := Raise(1)
	if err != nil || again != got {
		t.Fatalf("Raise(1) = %d, %v; want the current %d unchanged", again, err, got)
	}
}
