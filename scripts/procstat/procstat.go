// Package procstat reads a Linux process's CPU time and resident memory
// from /proc, for the benchmark tools that watch vigil's processes.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// CPUSeconds returns the user plus system CPU time of pid, or 0 if it
// cannot be read.
func CPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// RSS returns the resident set size of pid in bytes, or 0 if it cannot be
// read.
func RSS(pid int) uint64 {
	total, _ := RSSParts(pid)
	return total
}

// RSSParts returns the resident set size of pid and the part of it that is
// file-backed (RssFile: for vigil, the bbolt stores' memory maps, which the
// kernel can drop and read again), in bytes; zeros if it cannot be read.
func RSSParts(pid int) (total, file uint64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	kb := func(v string) uint64 {
		n, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		return n * 1024
	}
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			total = kb(v)
		} else if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			file = kb(v)
		}
	}
	return total, file
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}
