// Command aaguid-names regenerates the table of authenticator names
// (internal/authenticators/community_names.go) from a snapshot of the
// community list of passkey provider AAGUIDs
// (github.com/passkeydeveloper/passkey-authenticator-aaguids):
//
//	go run ./cmd/aaguid-names -in aaguid-names.json \
//	    -out internal/authenticators/community_names.go
//
// The input is either the list's own aaguid.json ({"<aaguid>": {"name":
// ..., "icon_dark": ...}}) or names only ({"<aaguid>": "<name>"}); only
// the names are kept, never the icons. The list's maintainers retire it by
// publishing an empty object: then the table is left as it is (the last
// good names) and the command says so. Any malformed entry stops the
// command before anything is written.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// maxInputBytes bounds the input: the whole list with its icons is a few
// hundred KiB.
const maxInputBytes = 16 << 20

// maxNameRunes bounds a name: it is shown in a table cell and prefixes a
// device name of at most 64 characters.
const maxNameRunes = 48

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "aaguid-names:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("aaguid-names", flag.ContinueOnError)
	flags.SetOutput(stderr)
	in := flags.String("in", "", "the list: aaguid.json or a names-only snapshot (required)")
	out := flags.String("out", "internal/authenticators/community_names.go", "the Go file to write")
	source := flags.String("source", "", "where the list came from, for the generated file's header (default: the input's SOURCE.txt first line, else its file name)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("-in is required")
	}
	names, err := readNames(*in)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		kept := countEntries(*out)
		fmt.Fprintf(stderr, "aaguid-names: %s is an empty object: the list was retired; keeping the %d names in %s\n", *in, kept, *out)
		return nil
	}
	if *source == "" {
		*source = describeSource(*in)
	}
	code, err := render(names, *source)
	if err != nil {
		return err
	}
	if err := writeAtomically(*out, code); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "aaguid-names: wrote %d names to %s\n", len(names), *out)
	return nil
}

// readNames reads and checks the list: every key an AAGUID, every name
// short printable text.
func readNames(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxInputBytes)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%s: not a JSON object of AAGUIDs", path)
	}
	names := make(map[string]string, len(raw))
	for key, value := range raw {
		id, err := uuid.Parse(key)
		if err != nil || len(key) != 36 {
			return nil, fmt.Errorf("%s: key %q is not an AAGUID", path, key)
		}
		name, err := entryName(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		if prev, dup := names[id.String()]; dup && prev != name {
			return nil, fmt.Errorf("%s: %s is listed twice with different names", path, key)
		}
		names[id.String()] = name
	}
	return names, nil
}

// entryName takes the name of one entry: a string, or an object with a
// "name" member (its other members, the icons, are dropped).
func entryName(value json.RawMessage) (string, error) {
	var name string
	if err := json.Unmarshal(value, &name); err != nil {
		var entry struct {
			Name *string `json:"name"`
		}
		if json.Unmarshal(value, &entry) != nil || entry.Name == nil {
			return "", errors.New(`the entry is neither a name nor an object with "name"`)
		}
		name = *entry.Name
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.New("the name is empty")
	case !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0:
		return "", errors.New("the name holds control characters or invalid UTF-8")
	case utf8.RuneCountInString(name) > maxNameRunes:
		return "", fmt.Errorf("the name is longer than %d characters", maxNameRunes)
	}
	return name, nil
}

func describeSource(in string) string {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(in), "SOURCE.txt"))
	if err == nil {
		text := strings.Join(strings.Fields(string(data)), " ")
		if first, _, ok := strings.Cut(text, ". "); ok {
			text = first + "."
		}
		if text != "" {
			return text
		}
	}
	return filepath.Base(in)
}

func render(names map[string]string, source string) ([]byte, error) {
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	b.WriteString("// Code generated by cmd/aaguid-names; DO NOT EDIT.\n\n")
	b.WriteString("package authenticators\n\n")
	b.WriteString("// communityNames are the names of the community list of passkey provider\n")
	b.WriteString("// AAGUIDs (names only; the list's icons are not copied). Source:\n")
	for _, line := range wrap(source, 72) {
		fmt.Fprintf(&b, "// %s\n", line)
	}
	b.WriteString("var communityNames = map[string]string{\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "\t%q: %s,\n", id, strconv.Quote(names[id]))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// entryLine matches one generated table entry.
var entryLine = regexp.MustCompile(`(?m)^\t"[0-9a-f-]{36}": `)

// countEntries counts the names of a generated file (0 when absent).
func countEntries(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return len(entryLine.FindAll(data, -1))
}

// writeAtomically replaces path in one rename, so a failed run leaves the
// last good table.
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".aaguid-names-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
