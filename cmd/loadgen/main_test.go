package main

import (
	"strings"
	"testing"
)

func TestRefusesNonLoopbackTarget(t *testing.T) {
	var out strings.Builder
	err := run([]string{"-target", "http://192.168.1.10:7071", "-duration", "1s"}, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run against a private address = %v, want a refusal naming loopback", err)
	}
}
