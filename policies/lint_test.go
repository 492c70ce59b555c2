package policies_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TestScriptsLint runs ESLint (test/eslint, installed by
// scripts/install-test-deps) over the browser scripts: modern syntax,
// browser globals, the recommended rules.
func TestScriptsLint(t *testing.T) {
	node := testenv.LookPath(t, "node")
	root := testenv.RepoRoot()
	eslint := filepath.Join(root, "test", "eslint", "node_modules", "eslint", "bin", "eslint.js")
	if _, err := os.Stat(eslint); err != nil {
		testenv.Missing(t, "ESLint is not installed in test/eslint")
	}
	scripts, _ := filepath.Glob(filepath.Join(root, "policies", "pages", "*.js"))
	if len(scripts) == 0 {
		t.Fatal("no scripts in policies/pages")
	}
	args := append([]string{eslint, "--max-warnings", "0", "-c", filepath.Join("test", "eslint", "eslint.config.mjs")}, scripts...)
	cmd := exec.Command(node, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eslint: %v\n%s", err, out)
	}
}
