// Package passkeys_test checks that what the README says about the
// repository (its layout, its settings) stays true.
package passkeys_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/config"
)

// TestReadmeLayoutMatchesTheTree keeps the README's "What is here" table
// true: every path it names exists, and every folder holding Go code is
// named by it (or lies under a folder it names).
func TestReadmeLayoutMatchesTheTree(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## What is here")
	if !ok {
		t.Fatal(`README.md has no "What is here" section`)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	var named []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			named = append(named, strings.TrimSuffix(m[1], "/"))
		}
	}
	if len(named) == 0 {
		t.Fatal("the layout table names no path")
	}
	for _, p := range named {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the README names %s, which is not in the tree", p)
		}
	}
	covered := func(dir string) bool {
		for _, p := range named {
			if dir == p || strings.HasPrefix(dir, p+"/") {
				return true
			}
		}
		return false
	}
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			if dir := filepath.Dir(path); dir != "." && !covered(dir) {
				t.Errorf("%s holds Go code but the README's layout table does not name it", dir)
			}
		}
		return nil
	})
}

// TestReadmeListsEverySetting keeps the README's configuration table
// whole: every variable config.Config reads has its row.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Configuration")
	if !ok {
		t.Fatal(`README.md has no "Configuration" section`)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("envconfig")
		if name != "" && !strings.Contains(section, "| `"+name+"` |") {
			t.Errorf("the README's configuration table has no row for %s", name)
		}
	}
}
