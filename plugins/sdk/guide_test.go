package sdk_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// guide is the plugin author's guide, relative to this package.
const guide = "../../docs/plugins/writing-a-plugin.md"

// verbatim matches a marker and the ```go block after it; the block must
// be the named file's content, byte for byte.
var verbatim = regexp.MustCompile("(?s)<!-- verbatim: ([^ ]+) -->\n```go\n(.*?)```\n")

// TestGuideExamplesVerbatim fails when a file the guide reproduces differs
// from the guide's copy, so the guide cannot drift from the example.
func TestGuideExamplesVerbatim(t *testing.T) {
	doc, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range verbatim.FindAllSubmatch(doc, -1) {
		name := string(m[1])
		seen[name] = true
		src, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s names %s: %v", guide, name, err)
			continue
		}
		if !bytes.Equal(m[2], src) {
			t.Errorf("%s: the copy of %s differs from the file; paste the file into the guide again", guide, name)
		}
	}
	for _, name := range []string{
		"plugins/sdk/example/diskcheck/main.go",
		"plugins/sdk/example/diskcheck/free_unix.go",
		"plugins/sdk/example/diskcheck/free_windows.go",
		"plugins/sdk/example/diskcheck/free_other.go",
	} {
		if !seen[name] {
			t.Errorf("%s does not reproduce %s (a ```go block after <!-- verbatim: %s -->)", guide, name, name)
		}
	}
}
