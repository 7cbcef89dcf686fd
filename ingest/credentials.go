package ingest

import (
	"context"
	"errors"
	"sync"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// maxCachedCredentials bounds the credential cache; past it the cache starts afresh.
const maxCachedCredentials = 1 << 17

// ErrUnknownToken means the device's token is unknown or was revoked (401).
var ErrUnknownToken = errors.New("ingest: unknown or revoked device token")

// ErrDeviceInactive means the device is marked lost or retired (401).
var ErrDeviceInactive = errors.New("ingest: device lost or retired")

// credentials remembers which device a token hash belongs to, so that a request from a known
// device needs no lookup of its own. The cache is never trusted alone: every batch checks all of
// its requests' credentials in one query before it is written (writer.verify), so a revoked token
// or a device marked lost is refused from the next batch on, on every instance.
type credentials struct {
	mu       sync.Mutex
	byHash   map[string]store.AuthenticatedDevice
	capacity int
}

func (c *credentials) get(hash []byte) (store.AuthenticatedDevice, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.byHash[string(hash)]
	return d, ok
}

func (c *credentials) put(hash []byte, d store.AuthenticatedDevice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHash == nil || len(c.byHash) >= c.capacity {
		c.byHash = map[string]store.AuthenticatedDevice{}
	}
	c.byHash[string(hash)] = d
}

func (c *credentials) forget(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byHash, hash)
}

// Authenticate returns the active device a token hash belongs to: from the cache when the token
// was seen before (its batch then checks it again), otherwise from the database. It returns
// ErrUnknownToken, ErrDeviceInactive, or ErrUnavailable when the database cannot answer.
func (s *Service) Authenticate(ctx context.Context, hash []byte) (string, error) {
	if d, ok := s.credentials.get(hash); ok {
		return d.ID, nil
	}
	d, err := s.store.DeviceByTokenHash(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrUnknownToken
	case err != nil:
		return "", ErrUnavailable
	case d.Status != rpm.DeviceActive:
		return "", ErrDeviceInactive
	}
	s.credentials.put(hash, d)
	return d.ID, nil
}

// verify checks the credentials of a batch's requests in one query and answers the requests whose
// token was revoked, or whose device was marked lost or retired, meanwhile; it returns the rest.
func (w *writer) verify(ctx context.Context, batch []*job) ([]*job, error) {
	var hashes [][]byte
	for _, jb := range batch {
		if jb.tokenHash != nil {
			hashes = append(hashes, jb.tokenHash)
		}
	}
	if len(hashes) == 0 {
		return batch, nil
	}
	live, err := w.store.LiveCredentials(ctx, hashes)
	if err != nil {
		return nil, err
	}
	kept := batch[:0:0]
	for _, jb := range batch {
		if jb.tokenHash == nil {
			kept = append(kept, jb)
			continue
		}
		d, ok := live[string(jb.tokenHash)]
		switch {
		case !ok || d.ID != jb.deviceID:
			jb.done <- jobResult{err: ErrUnknownToken}
		case d.Status != rpm.DeviceActive:
			jb.done <- jobResult{err: ErrDeviceInactive}
		default:
			kept = append(kept, jb)
			continue
		}
		if w.credentials != nil {
			w.credentials.forget(string(jb.tokenHash))
		}
	}
	return kept, nil
}

// checkCredential checks one request's credential in the database, for a request that writes
// nothing and so passes no batch's check. A request without a token hash (Accept, for callers that
// authenticated the device themselves) passes.
func (s *Service) checkCredential(ctx context.Context, deviceID string, hash []byte) error {
	if hash == nil {
		return nil
	}
	live, err := s.store.LiveCredentials(ctx, [][]byte{hash})
	if err != nil {
		return ErrUnavailable
	}
	d, ok := live[string(hash)]
	switch {
	case !ok || d.ID != deviceID:
		s.credentials.forget(string(hash))
		return ErrUnknownToken
	case d.Status != rpm.DeviceActive:
		s.credentials.forget(string(hash))
		return ErrDeviceInactive
	}
	return nil
}
