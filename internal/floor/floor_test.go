package floor

import "testing"

func TestVerify(t *testing.T) {
	l, err := New("http://localhost:7071")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	l.assertion = append([]byte(nil), l.assertion...)
	l.publicKey = append([]byte(nil), l.publicKey...)
	l.publicKey[len(l.publicKey)-1] ^= 1 // a damaged key
	if err := l.Verify(); err == nil {
		t.Fatal("Verify accepted the signature under a damaged key")
	}
}
