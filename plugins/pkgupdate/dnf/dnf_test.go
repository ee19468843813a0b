package dnf

import (
	"errors"
	"github.com/vigil-rmm/vigil/internal/golden"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

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
			var got any
			if strings.Contains(f, "check-update") {
				got, err = ParseCheckUpdate(in, 100)
			} else {
				got, err = ParseUpdateInfo(in)
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			golden.JSON(t, strings.TrimSuffix(f, ".txt")+".golden.json", got)
		})
	}
}

func TestParseCheckUpdate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int
		want []Update
	}{
		{"none", "Last metadata expiration check: 0:01:00 ago on Mon.\n", 0, nil},
		{
			name: "plain rows and noise",
			in:   "Last metadata expiration check: 0:10:00 ago on Mon.\n\nbash.x86_64  5.2.26-3.fc40  updates\n",
			code: 100,
			want: []Update{{Name: "bash", Arch: "x86_64", Version: "5.2.26-3.fc40", Repo: "updates"}},
		},
		{
			name: "wrapped name",
			in:   "texlive-collection-latexrecommended.noarch\n        9:svn54074-62.fc39   updates\n",
			code: 100,
			want: []Update{{Name: "texlive-collection-latexrecommended", Arch: "noarch", Version: "9:svn54074-62.fc39", Repo: "updates"}},
		},
		{
			name: "obsoleting only",
			in:   "Obsoleting Packages\nnew.x86_64  2.0-1  repo\n    old.x86_64  1.0-1  @System\n",
			code: 100,
			want: []Update{{Name: "new", Arch: "x86_64", Version: "2.0-1", Repo: "repo", Obsoletes: []string{"old.x86_64"}, Obsoleting: true}},
		},
		{
			name: "dnf5 obsoleting word",
			in:   "a.noarch  2-1  r\nObsoleting packages\na.noarch  2-1  r\n  obsoleting b.noarch  1-1  @System\n",
			code: 100,
			want: []Update{{Name: "a", Arch: "noarch", Version: "2-1", Repo: "r", Obsoletes: []string{"b.noarch"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCheckUpdate([]byte(tt.in), tt.code)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseCheckUpdateErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int
		want error
	}{
		{"exit 1", "Error: Failed to download metadata for repo 'updates'\n", 1, ErrFailed},
		{"unexpected code", "", 2, ErrFailed},
		{"100 without rows", "Last metadata expiration check: now\n", 100, ErrUnparsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCheckUpdate([]byte(tt.in), tt.code)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	_, err := ParseCheckUpdate([]byte("Error: Failed to download metadata for repo 'updates'\n"), 1)
	if err == nil || !strings.Contains(err.Error(), "Failed to download metadata") {
		t.Errorf("err = %v, want stderr quoted", err)
	}
}

func TestParseUpdateInfo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Advisory
	}{
		{
			name: "dnf4 security",
			in:   "FEDORA-2024-abc  Important/Sec.  pkg-1.2-3.fc40.x86_64\n",
			want: []Advisory{{ID: "FEDORA-2024-abc", Type: "security", Severity: SeverityImportant,
				Package: "pkg-1.2-3.fc40.x86_64", Name: "pkg", Arch: "x86_64"}},
		},
		{
			name: "dnf4 unknown severity",
			in:   "RHSA-2024:1 Unknown/Sec. a-b-1:1-1.el9.noarch\n",
			want: []Advisory{{ID: "RHSA-2024:1", Type: "security", Severity: SeverityNone,
				Package: "a-b-1:1-1.el9.noarch", Name: "a-b", Arch: "noarch"}},
		},
		{
			name: "dnf4 bugfix",
			in:   "FEDORA-2024-x bugfix vim-2:9.1-1.fc40.x86_64\n",
			want: []Advisory{{ID: "FEDORA-2024-x", Type: "bugfix", Severity: SeverityNone,
				Package: "vim-2:9.1-1.fc40.x86_64", Name: "vim", Arch: "x86_64"}},
		},
		{
			name: "dnf5 row",
			in:   "Name Type Severity Package Issued\nFEDORA-2024-y security critical kernel-6.1-1.fc40.x86_64 2024-08-01 00:00:00\n",
			want: []Advisory{{ID: "FEDORA-2024-y", Type: "security", Severity: SeverityCritical,
				Package: "kernel-6.1-1.fc40.x86_64", Name: "kernel", Arch: "x86_64", Issued: "2024-08-01 00:00:00"}},
		},
		{name: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUpdateInfo([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseUpdateInfo([]byte("FEDORA-1 Important/Sec.\n")); err == nil {
		t.Error("truncated /Sec. line: want error")
	}
}

func FuzzParseCheckUpdate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, 100)
		}
	}
	f.Add([]byte("x.y\n 1-1 r\n"), 100)
	f.Add([]byte("Error: no\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, code int) {
		ups, err := ParseCheckUpdate(in, code)
		if err != nil {
			if !errors.Is(err, ErrFailed) && !errors.Is(err, ErrUnparsed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, u := range ups {
			if u.Name == "" || u.Arch == "" || u.Version == "" || u.Repo == "" {
				t.Fatalf("incomplete update %+v", u)
			}
		}
		_, _ = ParseUpdateInfo(in)
	})
}
