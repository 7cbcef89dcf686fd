package rpm

import "testing"

func TestIsID(t *testing.T) {
	for s, want := range map[string]bool{
		"22d7511e-7e4c-4db5-add4-23527b645392": true,
		"22D7511E-7E4C-4DB5-ADD4-23527B645392": true,
		"22d7511e-7e4c-4db5-add4-23527b64539":  false,
		"22d7511e-7e4c-4db5-add4-23527b64539z": false,
		"22d7511e07e4c-4db5-add4-23527b645392": false,
		"':DROP TABLE patients;--aaaaaaaaaaaa": false,
		"":                                     false,
	} {
		if got := IsID(s); got != want {
			t.Errorf("IsID(%q) = %v", s, got)
		}
	}
}
