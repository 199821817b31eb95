package telegram

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Client's connection state and counters, for
// metrics and health checks. The counters start at zero in NewClient and
// never go down.
//
// Each field is read atomically on its own, not all of them at one instant:
// while calls are in flight, a snapshot may show one counter updated and a
// related one not yet.
type Stats struct {
	// Connected reports whether the client is logged in and its connection
	// to Telegram is up. It is false before Run has logged in, during an
	// outage (from the moment the client notices the lost connection until
	// a new one is established; a connection that dies silently is noticed
	// only when its pings go unanswered), and once Run has returned.
	Connected bool

	// Sends counts the messages that Send, SendFile and Forward posted: one
	// per Send or SendFile that succeeded, and one per message Forward
	// forwarded, also when it failed on a later message. A message Telegram
	// already held from an earlier attempt with the same random_id counts
	// too: it is in the chat, once.
	Sends uint64
	// SendErrors counts the calls of Send, SendFile and Forward that
	// returned an error, after all retries: those Telegram refused, those
	// that failed before reaching it (a malformed chat, an unknown
	// username, a missing file, no connection within the outage budget) and
	// those whose context ended first.
	SendErrors uint64

	// FloodWaits counts the FLOOD_WAIT, FLOOD_PREMIUM_WAIT and
	// SLOWMODE_WAIT answers Telegram gave to calls of any kind, each once:
	// those the client waited out before retrying, and those asking for
	// more than the flood wait cap, which fail the call.
	FloodWaits uint64
	// FloodWait is the total of the waits those answers asked for, whether
	// or not the client waited them out.
	FloodWait time.Duration

	// Requests counts the API calls the client made (sends, logins, chat
	// resolution, history, each file part up- or downloaded, …), each
	// once however often it was retried. MTProto's own traffic (key
	// exchange, pings, the configuration each new connection fetches) is
	// not counted.
	Requests uint64
}

// Stats returns the client's current state and counters. It is cheap, never
// waits for the connection and may be called from any goroutine, before,
// during and after Run.
func (c *Client) Stats() Stats {
	return Stats{
		Connected:  c.live.Load() && c.outage.up(),
		Sends:      c.stats.sends.Load(),
		SendErrors: c.stats.sendErrors.Load(),
		FloodWaits: c.stats.floodWaits.Load(),
		FloodWait:  time.Duration(c.stats.floodWait.Load()),
		Requests:   c.stats.requests.Load(),
	}
}

// counters back Stats.
type counters struct {
	sends      atomic.Uint64
	sendErrors atomic.Uint64
	floodWaits atomic.Uint64
	floodWait  atomic.Int64 // nanoseconds
	requests   atomic.Uint64
}

// sent counts a call of Send, SendFile or Forward that posted n messages
// and returned err.
func (s *counters) sent(n int, err error) {
	if n > 0 {
		s.sends.Add(uint64(n))
	}
	if err != nil {
		s.sendErrors.Add(1)
	}
}
