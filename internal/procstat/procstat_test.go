package procstat

import (
	"os"
	"testing"
	"time"
)

func TestCPUGrowsWithWork(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process has used 50 ms more CPU: a misread field
	// (wall time, a constant, another column) never gets there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		x := 0
		for i := range 1_000_000 {
			x += i
		}
		_ = x
		now, err := CPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now-before >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time went from %s to %s over 10 s of spinning", before, now)
		}
	}
}

func TestRSSGrowsWithTouchedMemory(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 32<<20 {
		t.Errorf("RSS went from %d to %d bytes after touching 64 MiB", before, after)
	}
	_ = buf[len(buf)-1]
}

func TestMissingProcess(t *testing.T) {
	t.Parallel()
	if _, err := CPU(-1); err == nil {
		t.Error("CPU of pid -1: no error")
	}
	if _, err := RSS(-1); err == nil {
		t.Error("RSS of pid -1: no error")
	}
}
