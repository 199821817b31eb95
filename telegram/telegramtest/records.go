package telegramtest

import (
	"slices"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

// Message is a message the server holds: posted by a client (sendMessage,
// sendMedia, forwardMessages) or seeded with AddHistory.
type Message struct {
	ID        int
	Peer      Peer  // the chat it was posted in
	From      int64 // sender's user ID
	Text      string
	Entities  []tg.MessageEntityClass
	Silent    bool
	NoWebpage bool
	RandomID  int64
	Date      time.Time // the server clock when it arrived
	Media     *File     // set for sendMedia
	Forwarded *Forward  // set for forwardMessages

	seeded bool // added with AddHistory, not posted by a client
}

// File is an uploaded document or photo attached to a Message.
type File struct {
	Name     string
	MimeType string
	Photo    bool
	Data     []byte
}

// Forward tells where a forwarded message came from.
type Forward struct {
	From       Peer
	ID         int  // message ID in From
	DropAuthor bool // sent as a copy, without the "forwarded from" header
}

// Login records a successful login.
type Login struct {
	UserID int64
	APIID  int // only bot logins carry it
	Bot    bool
	Date   time.Time
}

// Fault is a failure the server injects into matching requests.
type Fault struct {
	// Method is the request's TL type ID, e.g.
	// tg.MessagesSendMessageRequestTypeID; 0 matches every request except
	// help.getConfig (which every new connection sends first).
	Method uint32
	// Peer limits the fault to requests aimed at this chat; zero matches all.
	Peer Peer
	// Err answers the request with this RPC error instead of handling it,
	// e.g. tgerr.New(420, "FLOOD_WAIT_2").
	Err *tgerr.Error
	// Delay answers after this much real time, without blocking the
	// connection meanwhile.
	Delay time.Duration
	// Disconnect handles the request (so a message is posted) and then
	// closes the connection without answering: the client sees a lost
	// connection and must retry without posting twice.
	Disconnect bool
	// Times is how many matching requests the fault applies to; 0 means
	// once, a negative number means until Reset.
	Times int
}

type callKey struct {
	from     int64
	randomID int64
}

type records struct {
	clock    Clock
	messages []*Message
	byRandom map[callKey]*Message
	calls    map[uint32]int
	attempts []int64 // random IDs of send requests in arrival order
	faults   []*Fault
	logins   []Login
	uploads  map[int64]map[int][]byte // file ID → part → bytes
	nextID   int
}

func (r *records) init() {
	r.clock = systemClock{}
	r.messages = nil
	r.byRandom = map[callKey]*Message{}
	r.calls = map[uint32]int{}
	r.attempts = nil
	r.faults = nil
	r.logins = nil
	r.uploads = map[int64]map[int][]byte{}
}

// Reset forgets recorded messages, calls, logins and uploads, removes
// injected faults and restores the real clock. The world (users, chats,
// accounts) and auth keys stay. Message IDs keep increasing.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records.init()
}

// SetClock makes the server stamp messages with c's time.
func (s *Server) SetClock(c Clock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// Inject adds a fault. Faults are tried in the order added; the first that
// matches a request applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Messages returns every message posted by clients since the last Reset,
// in arrival order, each once however often its random_id was sent.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		if !m.seeded {
			out = append(out, *m)
		}
	}
	return out
}

// Calls returns how many requests of this TL type ID arrived since the
// last Reset, including failed and repeated ones.
func (s *Server) Calls(method uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// SendAttempts returns the random_id of every sendMessage, sendMedia and
// forwardMessages request in arrival order, repeats and failed attempts
// included.
func (s *Server) SendAttempts() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}

// Logins returns the successful logins since the last Reset.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logins)
}

// AddHistory seeds a message from user `from` into the chat p, for clients
// that read or forward history. It returns the message ID.
func (s *Server) AddHistory(p Peer, from int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.messages = append(s.messages, &Message{ID: s.nextID, Peer: p, From: from, Text: text, Date: s.clock.Now(), seeded: true})
	return s.nextID
}

// takeFaultLocked returns the first fault matching the request, using up
// one of its applications.
func (s *Server) takeFaultLocked(method uint32, peer Peer) *Fault {
	for i, f := range s.faults {
		if f.Method == 0 && method == tg.HelpGetConfigRequestTypeID {
			continue
		}
		if f.Method != 0 && f.Method != method {
			continue
		}
		if f.Peer != (Peer{}) && f.Peer != peer {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f
	}
	return nil
}

// postLocked records a posted message, or returns the earlier one with the
// same random_id from the same sender (Telegram's de-duplication).
func (s *Server) postLocked(m *Message) (*Message, error) {
	key := callKey{m.From, m.RandomID}
	if prev, ok := s.byRandom[key]; ok {
		if prev.Peer != m.Peer {
			return nil, tgerr.New(500, "RANDOM_ID_DUPLICATE")
		}
		return prev, nil
	}
	s.nextID++
	m.ID = s.nextID
	m.Date = s.clock.Now()
	s.messages = append(s.messages, m)
	s.byRandom[key] = m
	return m, nil
}
