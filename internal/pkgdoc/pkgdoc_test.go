package pkgdoc_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestPackageDocs fails for each package of the module that has no package
// doc comment, or has one in more than one file (STYLE.md item 13).
//
// Generated files count like any other, with one allowance for protoc:
// protoc-gen-go and protoc-gen-go-grpc copy the .proto file's leading comment
// ("// Package vigil.agent.v1 ...") into every .pb.go file they write for it.
// They put a blank line between that comment and the package clause, so Go
// does not see it as a doc comment (go doc shows none), yet it is the
// package's documentation. So, for a package with no other doc comment, the
// comment just above the package clause of its generated files counts as the
// package doc, and several generated files carrying the same text count as
// one. A hand-written doc.go next to them takes precedence and is then the
// only doc comment.
func TestPackageDocs(t *testing.T) {
	root := moduleRoot(t)
	problems, err := check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if len(p.Files) == 0 {
			t.Errorf("%s: no package doc comment; add one (in doc.go if it is long)", p.Dir)
			continue
		}
		t.Errorf("%s: package doc comment in more than one file (%s); keep exactly one", p.Dir, strings.Join(p.Files, ", "))
	}
}

// TestCheck runs the checker on the trees under testdata/.
func TestCheck(t *testing.T) {
	tests := []struct {
		root string
		want []problem
	}{
		{root: "testdata/good", want: nil},
		{root: "testdata/bad", want: []problem{
			{Dir: "gendiffer", Files: []string{"x.pb.go", "y.pb.go"}},
			{Dir: "handgen", Files: []string{"doc.go", "x.pb.go"}},
			{Dir: "missing"},
			{Dir: "twice", Files: []string{"a.go", "b.go"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			got, err := check(tt.root)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("check(%s) = %+v, want %+v", tt.root, got, tt.want)
			}
		})
	}
}

// problem is a package without a doc comment (Files empty) or with doc
// comments in several files.
type problem struct {
	Dir   string   // relative to the root, slash-separated
	Files []string // base names of the files with a doc comment
}

// pkgDocs collects what one directory's files say.
type pkgDocs struct {
	hand     []string            // hand-written files with a doc comment
	gen      map[string][]string // generated files' doc comments: text -> files
	detached map[string][]string // generated files' comment above the package clause
}

// check walks the tree at root and returns its problems, sorted by Dir.
// It skips testdata/, vendor/, directories starting with '.' or '_', nested
// modules, and bin/ and var/ at the root; and test files, files starting with
// '.' or '_', and files constrained by "//go:build ignore".
func check(root string) ([]problem, error) {
	pkgs := map[string]*pkgDocs{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if skipDir(root, path, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if ignored(f) {
			return nil
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		p := pkgs[dir]
		if p == nil {
			p = &pkgDocs{gen: map[string][]string{}, detached: map[string][]string{}}
			pkgs[dir] = p
		}
		switch {
		case !ast.IsGenerated(f):
			if f.Doc != nil {
				p.hand = append(p.hand, name)
			}
		case f.Doc != nil:
			p.gen[f.Doc.Text()] = append(p.gen[f.Doc.Text()], name)
		default:
			if c := commentAbovePackage(f); c != nil {
				p.detached[c.Text()] = append(p.detached[c.Text()], name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	var problems []problem
	for dir, p := range pkgs {
		// Each hand-written doc comment is a source; so is each distinct
		// text among generated files.
		files := slices.Clone(p.hand)
		sources := len(p.hand) + len(p.gen)
		for _, names := range p.gen {
			files = append(files, names...)
		}
		if sources == 0 {
			sources = len(p.detached)
			for _, names := range p.detached {
				files = append(files, names...)
			}
		}
		switch {
		case sources == 0:
			problems = append(problems, problem{Dir: dir})
		case sources > 1:
			slices.Sort(files)
			problems = append(problems, problem{Dir: dir, Files: files})
		}
	}
	slices.SortFunc(problems, func(a, b problem) int { return strings.Compare(a.Dir, b.Dir) })
	return problems, nil
}

// skipDir reports whether the walk skips the directory at path.
func skipDir(root, path, name string) bool {
	switch {
	case name == "testdata", name == "vendor",
		strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"):
		return true
	case filepath.Dir(path) == filepath.Clean(root) && (name == "bin" || name == "var"):
		return true
	}
	// A nested module is not part of this one.
	_, err := os.Stat(filepath.Join(path, "go.mod"))
	return err == nil
}

// ignored reports whether f is excluded from every build by
// "//go:build ignore", as generator programs are.
func ignored(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if strings.TrimSpace(c.Text) == "//go:build ignore" {
				return true
			}
		}
	}
	return false
}

// commentAbovePackage returns the comment group that ends just above the
// package clause when it reads like a package comment ("Package ..."), as
// protoc writes it, or nil.
func commentAbovePackage(f *ast.File) *ast.CommentGroup {
	var last *ast.CommentGroup
	for _, g := range f.Comments {
		if g.End() >= f.Package {
			break
		}
		last = g
	}
	if last == nil || !strings.HasPrefix(last.Text(), "Package ") {
		return nil
	}
	return last
}

// moduleRoot returns the directory of the go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
