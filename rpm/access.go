package rpm

import "time"

// AccessLevel is how far a user may go with one patient's record.
type AccessLevel int

// The access levels, weakest first. AccessNone is the zero value: a patient the viewer may not see.
const (
	// AccessNone: the patient does not exist for this viewer.
	AccessNone AccessLevel = iota
	// AccessShared: read-only, through an active share (a primary care physician).
	AccessShared
	// AccessSelf: the patient's own record: read, and manage who it is shared with.
	AccessSelf
	// AccessCare: a clinician on one of the patient's care teams: read, act on alerts, assign
	// devices, share.
	AccessCare
)

// Access is what one viewer may do with one patient. SharedUntil is set when the access comes
// from a share (the latest expiry among the viewer's active shares of the patient).
type Access struct {
	Level       AccessLevel
	SharedUntil time.Time
}

// Allows reports whether the access reaches at least the needed level. AccessSelf does not reach
// AccessCare, and AccessShared reaches only itself.
func (a Access) Allows(need AccessLevel) bool {
	if need == AccessSelf {
		return a.Level == AccessSelf || a.Level == AccessCare
	}
	return a.Level >= need && need != AccessNone
}

// Share lets one user see one patient until it expires or is revoked.
type Share struct {
	ID          string
	PatientID   string
	GranteeID   string
	GranteeName string
	GrantedBy   string
	GrantorName string
	Reason      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	RevokedAt   time.Time
}

// Active reports whether the share grants access at the given instant.
func (s Share) Active(at time.Time) bool { return s.RevokedAt.IsZero() && at.Before(s.ExpiresAt) }

// AuditEntry is one line of the audit trail: who did what, to which patient and object, when,
// from where, and whether it was allowed.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorKind  string // user, device or system
	ActorID    string
	ActorName  string // filled when listing
	ActorRole  string
	Action     string
	PatientID  string
	ObjectType string
	ObjectID   string
	Allowed    bool
	RequestID  string
	RemoteAddr string
	UserAgent  string
}

// Audit actions: what was done, as "object.verb".
const (
	ActionPatientList   = "patient.list"
	ActionPatientView   = "patient.view"
	ActionReadingsView  = "readings.view"
	ActionShareCreate   = "share.create"
	ActionShareRevoke   = "share.revoke"
	ActionShareList     = "share.list"
	ActionTeamChange    = "team.change"
	ActionUserDisable   = "user.disable"
	ActionUserEnable    = "user.enable"
	ActionUserSettings  = "user.settings"
	ActionSignIn        = "session.sign_in"
	ActionSignOut       = "session.sign_out"
	ActionAuditView     = "audit.view"
	ActionDeviceView    = "device.view"
	ActionPortalView    = "portal.view"
	ActionLiveSubscribe = "live.subscribe"
)

// Device audit actions.
const (
	ActionDeviceProvision = "device.provision"
	ActionDeviceRotate    = "device.rotate"
	ActionDeviceRevoke    = "device.revoke"
	ActionDeviceStatus    = "device.status"
	ActionDeviceAssign    = "device.assign"
	ActionDeviceUnassign  = "device.unassign"
	ActionDeviceInterval  = "device.interval"
)
