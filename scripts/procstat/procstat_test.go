package procstat

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	for i := 0; i < 2e7; i++ { // burn a little CPU so the figure is not 0
		_ = strings.Repeat("x", i%3)
	}
	if CPUSeconds(os.Getpid()) <= 0 || RSS(os.Getpid()) < 1<<20 {
		t.Fatalf("cpu %v rss %v", CPUSeconds(os.Getpid()), RSS(os.Getpid()))
	}
	if CPUSeconds(-1) != 0 || RSS(-1) != 0 {
		t.Fatal("a missing process must read as 0")
	}
	if !strings.HasPrefix(FreeAddr(), "127.0.0.1:") {
		t.Fatal("not loopback")
	}
}
