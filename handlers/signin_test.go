package handlers

import "testing"

func TestLocalPathRefusesOtherSites(t *testing.T) {
	tests := map[string]string{
		"/patients":              "/patients",
		"/patients/x?tab=shares": "/patients/x?tab=shares",
		"":                       "",
		"https://evil.example/":  "",
		"//evil.example/":        "",
		"/\\evil.example":        "",
		"/a\r\nSet-Cookie: x":    "",
		"patients":               "",
		"/\t/evil.example/x":     "",
		"/%2F%2Fevil.example":    "",
		"/x\x7f":                 "",
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
