package loadgen

import "testing"

func TestParseMix(t *testing.T) {
	tests := []struct {
		name string
		mix  string
		want map[string]int
		err  bool
	}{
		{name: "weights", mix: "register=1,login=6", want: map[string]int{"register": 1, "login": 6}},
		{name: "bare name weighs one", mix: "login", want: map[string]int{"login": 1}},
		{name: "spaces", mix: " login=2 , list=1", want: map[string]int{"login": 2, "list": 1}},
		{name: "not a number", mix: "login=x", err: true},
		{name: "negative", mix: "login=-1", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMix(tt.mix)
			if (err != nil) != tt.err {
				t.Fatalf("ParseMix(%q) error %v", tt.mix, err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("ParseMix(%q)[%s] = %d, want %d", tt.mix, k, got[k], v)
				}
			}
		})
	}
}
