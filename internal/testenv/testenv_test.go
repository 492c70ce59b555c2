package testenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fatalRecorder passes everything to the test but records Fatalf and ends
// the goroutine that called it, as testing.T does.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartHandlerReportsAnExit: a handler that stops at start (a bad
// setting) is reported as exited, with its log, not waited on for 30 s.
func TestStartHandlerReportsAnExit(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartHandler(rec, "", "PASSKEY_SESSION_TTL=soon")
	}()
	<-done
	if !strings.Contains(rec.fatal, "exited before it was ready") || !strings.Contains(rec.fatal, "PASSKEY_SESSION_TTL") {
		t.Fatalf("StartHandler failed with %q; want the exit and the handler's line naming PASSKEY_SESSION_TTL", rec.fatal)
	}
}
