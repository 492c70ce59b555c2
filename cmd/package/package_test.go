package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// testVersion is stamped into the packaged binary; the started line must
// report it.
const testVersion = "v0.0.0-packagetest"

var (
	packageOnce sync.Once
	packaged    *Result
	packageErr  error
)

// buildPackage runs Package once per test binary into a temp folder.
func buildPackage(t *testing.T) *Result {
	t.Helper()
	packageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "passkeys-package-")
		if err != nil {
			packageErr = err
			return
		}
		packaged, packageErr = Package(testenv.RepoRoot(), filepath.Join(dir, "passkeys.zip"), testVersion)
	})
	if packageErr != nil {
		t.Fatal(packageErr)
	}
	return packaged
}

// TestZipContents checks what ships: host.json, every function folder's
// function.json and the handler, a static linux/amd64 ELF executable with
// mode 0755; nothing else (no local.settings.json, no tests, no sources).
func TestZipContents(t *testing.T) {
	res := buildPackage(t)
	zr, err := zip.OpenReader(res.Zip)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()

	root := testenv.RepoRoot()
	want := map[string]bool{"host.json": true, BinaryName: true}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() {
			want["functions/"+d.Name()+"/function.json"] = true
		}
	}
	if len(want) < 2+7 {
		t.Fatalf("expected at least the 7 functions of the contract, found %d entries to ship", len(want)-2)
	}

	got := map[string]*zip.File{}
	for _, f := range zr.File {
		if got[f.Name] != nil {
			t.Errorf("%s appears twice", f.Name)
		}
		got[f.Name] = f
		if !want[f.Name] {
			t.Errorf("%s ships but should not", f.Name)
		}
		if strings.Contains(f.Name, "local.settings") || strings.HasSuffix(f.Name, "_test.go") || strings.HasSuffix(f.Name, ".go") {
			t.Errorf("%s must never ship", f.Name)
		}
	}
	for name := range want {
		if got[name] == nil {
			t.Errorf("%s is missing from the zip", name)
		}
	}

	for name, f := range got {
		if name == BinaryName {
			continue
		}
		if f.Mode() != 0o644 {
			t.Errorf("%s: mode %v, want -rw-r--r--", name, f.Mode())
		}
		inZip := read(t, f)
		onDisk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(inZip, onDisk) {
			t.Errorf("%s differs from the repository's copy", name)
		}
		if !json.Valid(inZip) {
			t.Errorf("%s is not valid JSON", name)
		}
	}

	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(read(t, got["host.json"]), &host); err != nil {
		t.Fatal(err)
	}
	if p := host.CustomHandler.Description.DefaultExecutablePath; p != BinaryName {
		t.Errorf("host.json starts %q, the zip ships %q", p, BinaryName)
	}

	bin := got[BinaryName]
	if bin == nil {
		t.FailNow()
	}
	if bin.Mode() != 0o755 {
		t.Errorf("%s: mode %v, want -rwxr-xr-x", BinaryName, bin.Mode())
	}
	data := read(t, bin)
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not an ELF file: %v", BinaryName, err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || ef.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v %v, want a 64-bit x86-64 executable", BinaryName, ef.Class, ef.Machine, ef.Type)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%v); the Functions image may lack its libraries", BinaryName, p.Type)
		}
	}
	if ef.Section(".symtab") != nil {
		t.Errorf("%s still has its symbol table (-s -w missing)", BinaryName)
	}
	if !bytes.Contains(data, []byte(testVersion)) {
		t.Errorf("%s does not contain the stamped version %s", BinaryName, testVersion)
	}
	t.Logf("zip %d bytes, %d entries; binary %d bytes", res.ZipSize, len(zr.File), len(data))
}

// TestPackagedBinaryServes unzips the package and starts the binary the way
// the Functions host does: working directory = the unzipped root,
// FUNCTIONS_CUSTOMHANDLER_PORT set, ready once GET / answers. Then it asks
// for registration options and checks the version in the started line.
func TestPackagedBinaryServes(t *testing.T) {
	res := buildPackage(t)
	dir := t.TempDir()
	unzip(t, res.Zip, dir)

	// Only what the host sets; no PASSKEY_* from the caller's environment.
	h := testenv.StartBinary(t, filepath.Join(dir, BinaryName), dir, func(port int) []string {
		return []string{fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port), "HOME=" + dir}
	})
	logText := h.Log
	base := fmt.Sprintf("http://127.0.0.1:%d", h.Port)
	if resp, err := http.Get(base + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("readiness probe GET /: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	body := `{"objectId":"0b5c2f9e-7d4a-4c1e-9a35-2f6d1c8e4b70","userName":"alice@contoso.com","locale":"en"}`
	resp, err := http.Post(base+"/api/register-begin", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Options     string `json:"options"`
		DeviceCount *int   `json:"deviceCount"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register-begin: %s; log:\n%s", resp.Status, logText())
	}
	var options struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(out.Options), &options); err != nil {
		t.Fatalf("options is not JSON: %v", err)
	}
	if options.PublicKey.Challenge == "" || options.PublicKey.RP.ID != "localhost" {
		t.Errorf("options: challenge %q, rp.id %q", options.PublicKey.Challenge, options.PublicKey.RP.ID)
	}
	if out.DeviceCount == nil || *out.DeviceCount != 0 {
		t.Errorf("deviceCount = %v, want 0", out.DeviceCount)
	}

	started := findLogLine(t, logText(), "started")
	if started["version"] != testVersion {
		t.Errorf("started line has version %v, want %s", started["version"], testVersion)
	}
	// The request line is written after the response; wait for it.
	for i := 0; i < 200 && !strings.Contains(logText(), `"msg":"request"`); i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if req := findLogLine(t, logText(), "request"); req["function"] != "register-begin" || req["status"] != float64(200) {
		t.Errorf("request line: %v", req)
	}
}

func findLogLine(t *testing.T, log, msg string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == msg {
			return entry
		}
	}
	t.Fatalf("no %q log line; log:\n%s", msg, log)
	return nil
}

func read(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// unzip writes every entry below dir with the mode the zip records, as the
// platform does when it mounts or extracts the package.
func unzip(t *testing.T, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names := make([]string, 0, len(zr.File))
	for _, f := range zr.File {
		names = append(names, f.Name)
		target := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("zip entry %q escapes the folder", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, read(t, f), f.Mode()&fs.ModePerm); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(names)
	t.Logf("unzipped %s", strings.Join(names, ", "))
}
