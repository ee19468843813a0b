package pkgupdate

import (
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseRPMVersions(t *testing.T) {
	in := "glibc.x86_64\t2.39-22.fc40\t1719820800\n" +
		"kernel-core.x86_64\t6.10.5-200.fc40\t1720000000\n" +
		"kernel-core.x86_64\t6.10.6-200.fc40\t1721000000\n" +
		"kernel-core.x86_64\t6.9.1-200.fc40\t1700000000\n" +
		"tzdata.noarch\t0:2025a-1.fc41\t1\n" +
		"grub2-tools.x86_64\t1:2.12-1.fc40\t1\r\n" +
		"package grub2-tools-minimal is not installed\n" +
		"bad.x86_64\t1-1\tnot-a-time\n" +
		"noarchsep\t1-1\t1\n" +
		"spaced name.x86_64\t1-1\t1\n" +
		"\n"
	want := map[string]string{
		"glibc.x86_64":       "2.39-22.fc40",
		"kernel-core.x86_64": "6.10.6-200.fc40",
		"tzdata.noarch":      "2025a-1.fc41",
		"grub2-tools.x86_64": "1:2.12-1.fc40",
	}
	if got := ParseRPMVersions([]byte(in)); !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestParseDpkgVersions(t *testing.T) {
	in := "libc6\t2.36-9+deb12u9\nlibc6\t2.36-9+deb12u3\n\tno-name\nno-version\t\nlinux-image-amd64\t6.1.119-1\r\ngarbage\n"
	want := map[string]string{"libc6": "2.36-9+deb12u9", "linux-image-amd64": "6.1.119-1"}
	if got := ParseDpkgVersions([]byte(in)); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseRebootPkgs(t *testing.T) {
	got := ParseRebootPkgs([]byte("linux-image-6.1.0-28-amd64\n libc6 \n\nlibc6\n-rf\nbad name\nlibssl3:amd64\n"))
	want := []string{"libc6", "libssl3:amd64", "linux-image-6.1.0-28-amd64"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFirstUsefulLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"W: warn\nE: broken\nE: more\n", "E: broken"},
		{"Repo 1.0 kB/s\nError: Failed to download metadata\n", "Error: Failed to download metadata"},
		{"W: only a warning\n", "W: only a warning"},
		{"W: warn\nsomething happened\n", "something happened"},
		{"\n\n  spaced  \n", "spaced"},
		{strings.Repeat("é", 200), strings.Repeat("é", 128)},
	}
	for _, tt := range tests {
		if got := FirstUsefulLine(tt.in); got != tt.want {
			t.Errorf("FirstUsefulLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsDNF5Version(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"dnf5 version 5.2.5.0\ndnf5 plugin API version 2.0\n", true},
		{"4.14.0\n  Installed: dnf-0:4.14.0-1.fc37.noarch\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsDNF5Version([]byte(tt.in)); got != tt.want {
			t.Errorf("IsDNF5Version(%q) = %v", tt.in, got)
		}
	}
}

func FuzzParseRPMVersions(f *testing.F) {
	for _, file := range []string{"testdata/dnf4-rpm-q.txt", "testdata/dnf5-rpm-q.txt"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a.b\t0:1-1\t-5\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for k, v := range ParseRPMVersions(in) {
			if !strings.Contains(k, ".") || v == "" || strings.ContainsAny(k+v, "\t\n ") {
				t.Fatalf("bad entry %q → %q", k, v)
			}
		}
	})
}

func FuzzParseDpkgVersions(f *testing.F) {
	if b, err := os.ReadFile("testdata/dpkg-query-reboot.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("a\t1\na\t2\n\t\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for k, v := range ParseDpkgVersions(in) {
			if k == "" || v == "" || strings.ContainsAny(k, "\t\n") || strings.ContainsAny(v, "\n") {
				t.Fatalf("bad entry %q → %q", k, v)
			}
		}
	})
}

func FuzzParseRebootPkgs(f *testing.F) {
	f.Add([]byte("libc6\nlinux-image-6.1.0-28-amd64\nlibc6\n"))
	f.Add([]byte("-o\n\x00\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, n := range ParseRebootPkgs(in) {
			if !validPackageName(n) {
				t.Fatalf("invalid name %q kept", n)
			}
		}
	})
}

func FuzzFirstUsefulLine(f *testing.F) {
	f.Add("W: a\nE: b\n")
	f.Add("Error: x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got := FirstUsefulLine(in)
		if len(got) > 256 || strings.Contains(got, "\n") || (utf8.ValidString(in) && !utf8.ValidString(got)) {
			t.Fatalf("FirstUsefulLine(%q) = %q", in, got)
		}
	})
}

func FuzzParseParams(f *testing.F) {
	f.Add("refresh", "true", "lists_dir", "/var/lib/apt/lists")
	f.Add("manager", "dnf5", "cache_dir", "/x/../y")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p, err := parseParams(map[string]string{k1: v1, k2: v2})
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || (pe.Name != k1 && pe.Name != k2) {
				t.Fatalf("error %v does not name a given parameter", err)
			}
			return
		}
		for _, d := range []string{p.opts.SourceList, p.opts.ListsDir, p.opts.CacheDir} {
			if d != "" && (!strings.HasPrefix(d, "/") || strings.Contains(d, "/../") || strings.HasSuffix(d, "/..")) {
				t.Fatalf("accepted path %q", d)
			}
		}
	})
}
