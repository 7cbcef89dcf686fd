package live

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-rpm/vigil/store"
)

// Notice announces that readings were stored: which patients, received when, by which instance.
// Ids and times only — never patient data.
type Notice struct {
	Instance string    `json:"i"`
	Patients []string  `json:"p"`
	From     time.Time `json:"f"`
	To       time.Time `json:"t"`
}

// Bus carries notices between instances. PostgreSQL's LISTEN/NOTIFY implements it here; a NATS
// subject could later, with no change to the relay.
type Bus interface {
	// Announce sends a notice to every instance (the sender included).
	Announce(ctx context.Context, n Notice) error
	// Listen calls fn with each notice until ctx ends, reconnecting by itself; onConnect runs each
	// time listening (re)starts, so the caller can catch up on what it may have missed.
	Listen(ctx context.Context, fn func(Notice), onConnect func()) error
}

// pgChannel is the PostgreSQL notification channel of PGBus.
const pgChannel = "vigil_readings"

// PGBus is the Bus over PostgreSQL notifications on Vigil's own database.
type PGBus struct{ Store *store.Store }

// Announce sends the notice as a NOTIFY payload.
func (b PGBus) Announce(ctx context.Context, n Notice) error {
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return b.Store.Notify(ctx, pgChannel, string(payload))
}

// Listen holds one listening connection (store.Listen) and decodes each payload.
func (b PGBus) Listen(ctx context.Context, fn func(Notice), onConnect func()) error {
	return b.Store.Listen(ctx, pgChannel, func(payload string) {
		var n Notice
		if json.Unmarshal([]byte(payload), &n) == nil {
			fn(n)
		}
	}, onConnect)
}
