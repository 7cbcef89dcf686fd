package provider

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Paths of the provider's own pages, relative to the issuer.
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
)

// secretHash is the SHA-256 of a password or client secret. The accounts are demo accounts whose
// password is published on the login page, so a slow hash would add nothing but start-up time.
type secretHash [sha256.Size]byte

func hashSecret(s string) secretHash { return sha256.Sum256([]byte(s)) }

// matches compares in constant time.
func (h secretHash) matches(s string) bool {
	given := hashSecret(s)
	return subtle.ConstantTimeCompare(h[:], given[:]) == 1
}

// account is a User as the store keeps it.
type account struct {
	subject, username, name, email string
	roles                          []string
	password                       secretHash
}

// authRequest is an authorization request between /authorize and the code exchange. The store
// hands out copies, so op never sees one change under it.
type authRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	challenge                               string // PKCE S256 code challenge
	expires                                 time.Time

	// Set by the login page.
	subject  string
	authTime time.Time
	done     bool
	code     string // the latest code issued for the request, if any
}

var _ op.AuthRequest = (*authRequest)(nil)

// GetID returns the request's id (also the login page's hidden field).
func (a *authRequest) GetID() string { return a.id }

// GetACR returns "": no authentication context classes are used.
func (a *authRequest) GetACR() string { return "" }

// GetAMR returns "pwd" once the user signed in with a password.
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// GetAudience returns the client id: tokens are for the requesting client only.
func (a *authRequest) GetAudience() []string { return []string{a.clientID} }

// GetAuthTime returns when the user signed in.
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }

// GetClientID returns the requesting client's id.
func (a *authRequest) GetClientID() string { return a.clientID }

// GetCodeChallenge returns the PKCE challenge; the store accepts only S256.
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.challenge, Method: oidc.CodeChallengeMethodS256}
}

// GetNonce returns the nonce to carry into the ID token.
func (a *authRequest) GetNonce() string { return a.nonce }

// GetRedirectURI returns the (registered) redirect URI of the request.
func (a *authRequest) GetRedirectURI() string { return a.redirectURI }

// GetResponseType returns "code", the only response type supported.
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }

// GetResponseMode returns "query", the only response mode supported.
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseModeQuery }

// GetScopes returns the granted scopes.
func (a *authRequest) GetScopes() []string { return a.scopes }

// GetState returns the client's state, echoed in the redirect.
func (a *authRequest) GetState() string { return a.state }

// GetSubject returns the signed-in user's subject ("" before sign-in).
func (a *authRequest) GetSubject() string { return a.subject }

// Done reports whether the user signed in.
func (a *authRequest) Done() bool { return a.done }

// LogValue keeps op's error logs free of the request id, state and nonce.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", a.clientID), slog.String("redirect_uri", a.redirectURI),
		slog.String("scopes", strings.Join(a.scopes, " ")))
}

// client is a registered Client as op sees it: confidential, code flow only, HTTP Basic auth.
type client struct {
	id                       string
	secret                   secretHash
	redirectURIs, logoutURIs []string
	loginURL                 func(authRequestID string) string
	idTokenLifetime          time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.logoutURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.idTokenLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true } // profile/email claims in the ID token

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string     { return keepScopes }
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string { return keepScopes }

func keepScopes(scopes []string) []string { return scopes }

// signingKey is the provider's RS256 key; publicKey is its public half in the key set.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.key.PublicKey }

// accessToken is an issued (opaque, encrypted) bearer token as the store remembers it.
type accessToken struct {
	id, clientID, subject, requestID string
	scopes                           []string
	expires                          time.Time
}

// codeGrant is an issued authorization code. It is kept after its exchange (used) until it
// expires, so that a replay is recognised and the tokens it produced are revoked.
type codeGrant struct {
	requestID string
	expires   time.Time
	used      bool
}
