package auth

import (
	"slices"
	"testing"

	"github.com/vigil-rpm/vigil/rpm"
)

func TestMapRoles(t *testing.T) {
	tests := []struct {
		in   []string
		want []rpm.Role
	}{
		{[]string{"clinician"}, []rpm.Role{rpm.RoleClinician}},
		{[]string{"Vigil-Admin", "vigil:pcp", "offline_access", "uma_authorization"}, []rpm.Role{rpm.RoleAdmin, rpm.RolePCP}},
		{[]string{"patient", "patient"}, []rpm.Role{rpm.RolePatient}},
		{[]string{"superuser", ""}, nil},
	}
	for _, tt := range tests {
		if got := MapRoles(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("MapRoles(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClaimStrings(t *testing.T) {
	claims := map[string]any{
		"roles":        []any{"clinician", 7, "admin"},
		"scope_roles":  "pcp patient",
		"realm_access": map[string]any{"roles": []any{"vigil-clinician"}},
	}
	tests := map[string][]string{
		"roles":              {"clinician", "admin"},
		"scope_roles":        {"pcp", "patient"},
		"realm_access.roles": {"vigil-clinician"},
		"missing":            nil,
		"roles.deeper":       nil,
	}
	for path, want := range tests {
		if got := claimStrings(claims, path); !slices.Equal(got, want) {
			t.Errorf("claimStrings(%q) = %q, want %q", path, got, want)
		}
	}
}
