package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// TestShortRun runs one short round against both servers and checks that
// every figure of the report is there for both.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts both servers")
	}
	testenv.LookPath(t, "node")
	testenv.LookPath(t, "npm")
	var out strings.Builder
	err := run([]string{
		"-rounds", "1", "-duration", "1s", "-users", "5", "-concurrency", "2",
		"-peer", filepath.Join(testenv.SharedDir(), "peer"),
		"-handler", testenv.HandlerBinary(t),
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"ceremonies/s", "server CPU per ceremony", "login-finish p99", "RSS after the load", "start to first answer"} {
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "| "+row+" |") {
				line = l
			}
		}
		if line == "" || strings.Contains(line, "| 0.0 ") || strings.Count(line, "|") != 5 {
			t.Errorf("row %q missing or empty in:\n%s", row, out.String())
		}
	}
}

func TestRefusesUnboundedRuns(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "0"}, {"-duration", "11m"}, {"-mix", "login=x"}} {
		if err := run(args, new(strings.Builder)); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
