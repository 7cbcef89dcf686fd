package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

var (
	errUnsupported  = errors.New("provider: not supported by the demo provider")
	errTokenInvalid = errors.New("provider: access token invalid or expired")
)

// CreateAccessToken records an access token for a redeemed auth request (the only kind of token
// request this provider accepts) and returns its id and expiry.
func (s *storage) CreateAccessToken(_ context.Context, request op.TokenRequest) (string, time.Time, error) {
	r, ok := request.(*authRequest)
	if !ok {
		return "", time.Time{}, errUnsupported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now)
	t := &accessToken{id: rand.Text(), clientID: r.clientID, subject: r.subject, requestID: r.id,
		scopes: r.scopes, expires: now.Add(s.accessLifetime)}
	s.tokens[t.id] = t
	s.log.Info("oidc provider: tokens issued", "client_id", t.clientID, "subject", t.subject)
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens is never called: no client has the refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

// TokenRequestByRefreshToken refuses: there are no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}

// GetRefreshTokenInfo reports that no token is a refresh token.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession revokes the user's access tokens for the client (RP-initiated logout).
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.revokeWhere(func(t *accessToken) bool { return t.subject == userID && t.clientID == clientID })
	s.log.Info("oidc provider: signed out", "client_id", clientID, "subject", userID, "tokens_revoked", n)
	return nil
}

// RevokeToken revokes one access token of the client (RFC 7009); unknown tokens are ignored.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tokenID]
	if t == nil {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

// revokeWhere deletes the matching access tokens and counts them; the caller holds mu.
func (s *storage) revokeWhere(match func(*accessToken) bool) int {
	n := len(s.tokens)
	for id, t := range s.tokens {
		if match(t) {
			delete(s.tokens, id)
		}
	}
	return n - len(s.tokens)
}

// liveToken returns a copy of an unexpired access token of the subject.
func (s *storage) liveToken(tokenID, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tokenID]
	if t == nil || t.subject != subject || !s.now().Before(t.expires) {
		return accessToken{}, errTokenInvalid
	}
	return *t, nil
}

// SetUserinfoFromToken fills the /userinfo response for a valid access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	return s.fillUserinfo(info, t.subject, t.scopes)
}

// SetIntrospectionFromToken describes a valid access token to the client it was issued to.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil || t.clientID != clientID {
		return errTokenInvalid
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.Expiration = t.scopes, t.clientID, oidc.FromTime(t.expires)
	return nil
}

// SetUserinfoFromScopes is deprecated in op and intentionally empty; see SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(info, req.GetSubject(), scopes)
}

// fillUserinfo sets sub and the role claim always, and the profile and email claims when their
// scopes were granted.
func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	a := s.bySubject[subject]
	if a == nil {
		return errors.New("provider: unknown subject")
	}
	info.Subject = a.subject
	info.AppendClaims(s.roleClaim, slices.Clone(a.roles))
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername, info.Name = a.username, a.name
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = a.email
	}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetClientByClientID returns a registered client.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if c := s.clients[id]; c != nil {
		return c, nil
	}
	return nil, errors.New("provider: unknown client")
}

// AuthorizeClientIDSecret checks a client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c := s.clients[id]
	hash := s.dummy
	if c != nil {
		hash = c.secret
	}
	if !hash.matches(secret) || c == nil {
		s.log.Warn("oidc provider: client authentication failed", "client_id", id)
		return errors.New("provider: invalid client credentials")
	}
	return nil
}

// GetKeyByIDAndClientID refuses: clients do not authenticate with keys (no JWT profile grant).
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

// ValidateJWTProfileScopes refuses: there is no JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

// SigningKey returns the RS256 key that signs ID tokens.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

// SignatureAlgorithms lists RS256, the only algorithm used.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet publishes the signing key's public half at /keys.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

// Health reports the in-memory storage as always healthy.
func (s *storage) Health(context.Context) error { return nil }
