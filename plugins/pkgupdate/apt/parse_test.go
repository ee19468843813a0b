package apt

import (
	"errors"
	"github.com/vigil-rmm/vigil/internal/golden"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type goldenResult struct {
	Updates  []Update
	Removals []Removal
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var g goldenResult
			if g.Updates, err = ParseSimulate(in); err != nil {
				t.Fatalf("ParseSimulate: %v", err)
			}
			if g.Removals, err = ParseRemovals(in); err != nil {
				t.Fatalf("ParseRemovals: %v", err)
			}
			golden.JSON(t, strings.TrimSuffix(f, ".txt")+".golden.json", g)
		})
	}
}

func TestGoldenDebian12Counts(t *testing.T) {
	in, err := os.ReadFile("testdata/debian12-dist-upgrade.txt")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := ParseSimulate(in)
	if err != nil {
		t.Fatal(err)
	}
	// The summary line of the capture says "136 upgraded, 0 newly installed".
	sec := 0
	for _, u := range ups {
		if u.New || u.Installed == "" {
			t.Errorf("%s: unexpected new package", u.Name)
		}
		if u.Security {
			sec++
		}
	}
	if len(ups) != 136 || sec == 0 {
		t.Errorf("got %d updates (%d security), want 136 with some security", len(ups), sec)
	}
}

func TestParseSimulate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Update
	}{
		{
			name: "debian security label",
			in:   "Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])",
			want: []Update{{Name: "liblzma5", Arch: "amd64", Installed: "5.4.1-1", Candidate: "5.4.1-1+deb12u2",
				Origins: []string{"Debian-Security:12/oldstable-security"}, Security: true}},
		},
		{
			name: "pre-bullseye security label with stable suite",
			in:   "Inst tzdata [2021a-0+deb9u1] (2021a-0+deb9u2 Debian-Security:9/stable [all])",
			want: []Update{{Name: "tzdata", Arch: "all", Installed: "2021a-0+deb9u1", Candidate: "2021a-0+deb9u2",
				Origins: []string{"Debian-Security:9/stable"}, Security: true}},
		},
		{
			name: "updates suite is not security",
			in:   "Inst snapd [2.58] (2.61 Ubuntu:22.04/jammy-updates [amd64])",
			want: []Update{{Name: "snapd", Arch: "amd64", Installed: "2.58", Candidate: "2.61",
				Origins: []string{"Ubuntu:22.04/jammy-updates"}}},
		},
		{
			name: "epoch and trailing brackets",
			in:   "Inst libcap2 [1:2.66-4+deb12u2+b2] (1:2.66-4+deb12u3+b1 Debian:12.15/oldstable [amd64]) []",
			want: []Update{{Name: "libcap2", Arch: "amd64", Installed: "1:2.66-4+deb12u2+b2", Candidate: "1:2.66-4+deb12u3+b1",
				Origins: []string{"Debian:12.15/oldstable"}}},
		},
		{
			name: "foreign architecture qualifier",
			in:   "Inst libc6:i386 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian:12.5/stable [i386])",
			want: []Update{{Name: "libc6", Arch: "i386", Foreign: true, Installed: "2.36-9+deb12u3", Candidate: "2.36-9+deb12u4",
				Origins: []string{"Debian:12.5/stable"}}},
		},
		{
			name: "new package",
			in:   "Inst firmware-linux-free (3.4 Debian:9.9/stable [all])",
			want: []Update{{Name: "firmware-linux-free", Arch: "all", Candidate: "3.4",
				Origins: []string{"Debian:9.9/stable"}, New: true}},
		},
		{
			name: "flat file repository as seen by the integration test",
			in:   "Inst vigil-test-dummy [1.0] (2.0 localhost [all])",
			want: []Update{{Name: "vigil-test-dummy", Arch: "all", Installed: "1.0", Candidate: "2.0",
				Origins: []string{"localhost"}}},
		},
		{
			name: "no origin",
			in:   "Inst foo [1.0] (2.0 [all])",
			want: []Update{{Name: "foo", Arch: "all", Installed: "1.0", Candidate: "2.0"}},
		},
		{
			name: "conf remv and noise ignored",
			in:   "Reading package lists...\nConf bash (5.2 Debian:12/stable [amd64])\nRemv foo [1.0]\n",
		},
		{name: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSimulate([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseSimulate: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSimulateMalformed(t *testing.T) {
	tests := []string{
		"Inst foo",
		"Inst foo [1.0",
		"Inst foo [1.0] 2.0",
		"Inst foo [1.0] (2.0 Debian:12/stable",
		"Inst foo [1.0] (2.0 Debian:12/stable)",
		"Inst foo [1.0] ( [amd64])",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			_, err := ParseSimulate([]byte(in))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseSimulate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Inst a [1] (2 x:y/z-security, [amd64]) []"))
	f.Add([]byte("Inst a (2 [)"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ups, err := ParseSimulate(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, u := range ups {
			if u.Name == "" || u.Candidate == "" || u.Arch == "" {
				t.Fatalf("incomplete update %+v", u)
			}
			if u.New != (u.Installed == "") {
				t.Fatalf("New=%v with Installed=%q", u.New, u.Installed)
			}
		}
		_, _ = ParseRemovals(in)
	})
}
