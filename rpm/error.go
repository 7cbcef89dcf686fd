package rpm

// ErrorCode classifies a failure for the caller: the HTTP layer maps it to a status.
type ErrorCode string

// The error codes.
const (
	ENotFound     ErrorCode = "not_found"
	EInvalid      ErrorCode = "invalid"
	EConflict     ErrorCode = "conflict"
	EUnauthorized ErrorCode = "unauthorized"
	EForbidden    ErrorCode = "forbidden"
	ETooLarge     ErrorCode = "too_large"
	ERateLimited  ErrorCode = "rate_limited"
	EUnavailable  ErrorCode = "unavailable"
	EInternal     ErrorCode = "internal"
)

// Error is a failure with a code and a message that is safe to show to the user: it never holds
// patient data, SQL or an internal error's text. Cause, if any, is for the log only.
type Error struct {
	Code    ErrorCode
	Message string
	Cause   error
}

// Errorf is shorthand for an *Error without a cause.
func Errorf(code ErrorCode, message string) *Error { return &Error{Code: code, Message: message} }

// Error returns the safe message; the cause is reachable through errors.Unwrap for logging.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }
