package inventory

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func swString(sw []*agentv1.Software) string {
	var b strings.Builder
	for _, s := range sw {
		b.WriteString(s.GetName() + "|" + s.GetVersion() + "|" + s.GetArch() + "|")
		if s.GetInstallUnix() != 0 {
			b.WriteString("t")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseDpkg(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"installed held and triggers", "a\t1.0\tamd64\tii \nb\t2:1.0-1\tall\thi \nc\t1\tamd64\tiW \nd\t1\tamd64\tit \n",
			"a|1.0|amd64|\nb|2:1.0-1|all|\nc|1|amd64|\nd|1|amd64|\n"},
		{"removed with config, half-installed, unpacked, not installed", "a\t1\tamd64\trc \nb\t1\tamd64\tiH \nc\t1\tamd64\tiU \nd\t\tamd64\tun \nkeep\t1\tamd64\tii \n",
			"keep|1|amd64|\n"},
		{"selected for removal but installed", "a\t1\tamd64\tri \n", "a|1|amd64|\n"},
		{"multiarch qualifier dropped", "libc6:i386\t2.36\ti386\tii \nlibc6:amd64\t2.36\tamd64\tii \n", "libc6|2.36|i386|\nlibc6|2.36|amd64|\n"},
		{"reinstall-required flag", "a\t1\tamd64\tiiR\n", "a|1|amd64|\n"},
		{"crlf, blank and short lines", "a\t1\tamd64\tii \r\n\n\nb\t1\tamd64\nc\t1\tamd64\ti\n", "a|1|amd64|\n"},
		{"empty", "", ""},
		{"long name trimmed", strings.Repeat("n", 300) + "\t1\tamd64\tii \n", strings.Repeat("n", 256) + "|1|amd64|\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDpkg([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if s := swString(got); s != tt.want {
				t.Errorf("got\n%s\nwant\n%s", s, tt.want)
			}
		})
	}
	if _, err := ParseDpkg([]byte("dpkg-query: no packages found matching x\n")); !errors.Is(err, ErrNoPackages) {
		t.Errorf("err = %v, want ErrNoPackages", err)
	}
}

func TestParseRPM(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain and epoch", "bash\t5.2-1.fc40\tx86_64\t1700000000\ngrub2-pc\t1:2.06-77.el9\tx86_64\t1\n",
			"bash|5.2-1.fc40|x86_64|t\ngrub2-pc|1:2.06-77.el9|x86_64|t\n"},
		{"gpg-pubkey skipped, (none) arch", "gpg-pubkey\t1-2\t(none)\t1\nfilesystem\t3.18-8\t(none)\t1\n", "filesystem|3.18-8||t\n"},
		{"bad install time", "a\t1-1\tnoarch\tx\nb\t1-1\tnoarch\t-5\n", "a|1-1|noarch|\nb|1-1|noarch|\n"},
		{"short, spaced and empty fields", "a\t1-1\tnoarch\nbad name\t1-1\tx86_64\t1\n\t1-1\tx86_64\t1\nc\t\tx86_64\t1\nok\t1-1\tx86_64\t1\n",
			"ok|1-1|x86_64|t\n"},
		{"only keys", "gpg-pubkey\t1-2\t(none)\t1\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRPM([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if s := swString(got); s != tt.want {
				t.Errorf("got\n%s\nwant\n%s", s, tt.want)
			}
		})
	}
	if _, err := ParseRPM([]byte("error: rpmdb: BDB0113 Thread/process 1/2 failed\n")); !errors.Is(err, ErrNoPackages) {
		t.Errorf("err = %v, want ErrNoPackages", err)
	}
}

// checkSoftware fails on an entry a parser must never return.
func checkSoftware(t *testing.T, sw []*agentv1.Software) {
	t.Helper()
	for _, s := range sw {
		for _, v := range []string{s.GetName(), s.GetVersion(), s.GetArch()} {
			if len(v) > 256 || !utf8.ValidString(v) || strings.ContainsAny(v, "\t\n\r") || v != strings.TrimSpace(v) {
				t.Fatalf("bad field %q in %v", v, s)
			}
		}
		if s.GetName() == "" || s.GetVersion() == "" || s.GetInstallUnix() < 0 {
			t.Fatalf("incomplete entry %v", s)
		}
	}
}

func FuzzParseDpkg(f *testing.F) {
	for _, file := range []string{"testdata/linux/debian-vm/dpkg-query.txt", "testdata/linux/rpi4-arm64/dpkg-query.txt"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a:b:c\t1\t\tii\n\xff\t\xfe\tx\tii \n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sw, err := ParseDpkg(in)
		if err != nil && !errors.Is(err, ErrNoPackages) {
			t.Fatalf("unexpected error %v", err)
		}
		checkSoftware(t, sw)
		for _, s := range sw {
			if strings.Contains(s.GetName(), ":") {
				t.Fatalf("name %q keeps its qualifier", s.GetName())
			}
		}
	})
}

func FuzzParseRPM(f *testing.F) {
	b, err := os.ReadFile("testdata/linux/dell-r740/rpm.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("a\t1\t(none)\t99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sw, err := ParseRPM(in)
		if err != nil && !errors.Is(err, ErrNoPackages) {
			t.Fatalf("unexpected error %v", err)
		}
		checkSoftware(t, sw)
	})
}
