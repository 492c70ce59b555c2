// Command package builds the deployment package of the function app: a
// static linux/amd64 handler binary and a zip with host.json, the
// function folders and the binary, its executable bit set explicitly so
// that the zip is the same whichever system writes it.
//
//	go run ./cmd/package [-o dist/passkeys.zip] [-version v1.2.3]
//
// The version defaults to `git describe --tags --always --dirty`.
package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BinaryName is the executable host.json's customHandler starts.
const BinaryName = "handler"

// zipTime is the modification time of every entry, so that two builds of
// the same sources give the same zip.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", filepath.Join("dist", "passkeys.zip"), "zip to write")
	version := flag.String("version", "", "version stamped into the binary (default: git describe)")
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	if *version == "" {
		*version = GitVersion(root)
	}
	res, err := Package(root, *out, *version)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s: %d files, %d bytes (binary %d bytes, version %s)\n",
		res.Zip, len(res.Files), res.ZipSize, res.BinarySize, *version)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "package:", err)
	os.Exit(1)
}

// Result describes a written package.
type Result struct {
	Zip        string   // path of the zip
	Binary     string   // path of the built binary beside the zip
	Files      []string // zip entries, in order
	ZipSize    int64
	BinarySize int64
}

// GitVersion is `git describe --tags --always --dirty` in root, or "dev"
// when that fails (no git, no history).
func GitVersion(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}

// Package builds the handler of the module in root and writes the zip to
// out (relative to root unless absolute); the binary is left beside it.
func Package(root, out, version string) (*Result, error) {
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	binary := filepath.Join(filepath.Dir(out), BinaryName)
	if err := Build(root, binary, version); err != nil {
		return nil, err
	}
	files, err := Contents(root)
	if err != nil {
		return nil, err
	}
	res := &Result{Zip: out, Binary: binary}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, rel := range files {
		if err := addFile(zw, filepath.Join(root, filepath.FromSlash(rel)), rel, 0o644); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, rel)
	}
	if err := addFile(zw, binary, BinaryName, 0o755); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, BinaryName)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	res.ZipSize = int64(buf.Len())
	if fi, err := os.Stat(binary); err == nil {
		res.BinarySize = fi.Size()
	}
	return res, nil
}

// Build compiles ./handler as a static, stripped linux/amd64 binary with
// the version stamped into main.version.
func Build(root, binary, version string) error {
	cmd := exec.Command("go", "build",
		"-trimpath",
		"-ldflags", "-s -w -X main.version="+version,
		"-o", binary,
		"./handler")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./handler: %v\n%s", err, out)
	}
	return nil
}

// Contents lists what ships besides the binary, as slash paths relative to
// root: host.json and functions/<name>/function.json of every function
// folder. Nothing else in those folders is taken.
func Contents(root string) ([]string, error) {
	files := []string{"host.json"}
	if _, err := os.Stat(filepath.Join(root, "host.json")); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "function.json")); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("functions/%s has no function.json", e.Name())
			}
			return nil, err
		}
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return nil, errors.New("functions/ holds no function folder")
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, "functions/"+n+"/function.json")
	}
	return files, nil
}

func addFile(zw *zip.Writer, path, name string, mode fs.FileMode) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
	h.SetMode(mode) // also marks the entry as made on Unix, so the mode is read back
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}
