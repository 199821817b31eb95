package telegramtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

// User is a Telegram user or bot on the server.
type User struct {
	ID         int64
	AccessHash int64
	Username   string // without "@"; empty if none
	FirstName  string
	Bot        bool
	Phone      string // digits only; the login phone of an Account
	Photo      []byte // profile photo bytes served by upload.getFile; nil if none
}

// Channel is a channel or supergroup.
type Channel struct {
	ID         int64
	AccessHash int64
	Username   string
	Title      string
	Megagroup  bool // a supergroup rather than a broadcast channel
	Photo      []byte
}

// Chat is a basic group (no access hash).
type Chat struct {
	ID    int64
	Title string
	Photo []byte
}

// Account is a user that can log in with a phone number, a login code and
// optionally a 2FA password.
type Account struct {
	User     User
	Code     string // the login code the server "sends"
	Password string // 2FA password; empty for none
}

// PeerKind tells users, basic groups and channels apart.
type PeerKind int

// Peer kinds.
const (
	PeerUser PeerKind = iota + 1
	PeerChat
	PeerChannel
)

// Peer names a chat on the server: a user (private chat), a basic group or
// a channel.
type Peer struct {
	Kind PeerKind
	ID   int64
}

// UserPeer, ChatPeer and ChannelPeer build a Peer.
func UserPeer(id int64) Peer    { return Peer{PeerUser, id} }
func ChatPeer(id int64) Peer    { return Peer{PeerChat, id} }
func ChannelPeer(id int64) Peer { return Peer{PeerChannel, id} }

// String returns "user 42", "chat 7" or "channel 9".
func (p Peer) String() string {
	switch p.Kind {
	case PeerUser:
		return fmt.Sprintf("user %d", p.ID)
	case PeerChat:
		return fmt.Sprintf("chat %d", p.ID)
	case PeerChannel:
		return fmt.Sprintf("channel %d", p.ID)
	}
	return "no peer"
}

func (p Peer) tg() tg.PeerClass {
	switch p.Kind {
	case PeerChat:
		return &tg.PeerChat{ChatID: p.ID}
	case PeerChannel:
		return &tg.PeerChannel{ChannelID: p.ID}
	}
	return &tg.PeerUser{UserID: p.ID}
}

type account struct {
	code string
	srp  *srpVerifier // nil without 2FA
}

type world struct {
	users    map[int64]*User
	channels map[int64]*Channel
	chats    map[int64]*Chat
	names    map[string]Peer     // lower-case username → peer
	bots     map[string]int64    // bot token → bot user ID
	accounts map[string]*account // phone → account
	phones   map[string]int64    // phone → user ID
	photos   map[int64][]byte    // photo ID → bytes
	auth     map[[8]byte]int64   // auth key ID → logged-in user ID
	pending  map[[8]byte]int64   // auth key ID → user that still owes a 2FA password
	srpRound map[int64]*srpRound // SRP ID → round
	nextSRP  int64
}

func (w *world) init() {
	w.users = map[int64]*User{}
	w.channels = map[int64]*Channel{}
	w.chats = map[int64]*Chat{}
	w.names = map[string]Peer{}
	w.bots = map[string]int64{}
	w.accounts = map[string]*account{}
	w.phones = map[string]int64{}
	w.photos = map[int64][]byte{}
	w.auth = map[[8]byte]int64{}
	w.pending = map[[8]byte]int64{}
	w.srpRound = map[int64]*srpRound{}
}

// photoID derives a stable photo ID from the owner, so a re-added peer with
// new bytes gets a new ID (as a changed photo does on Telegram).
func photoID(p Peer, data []byte) int64 {
	var h int64 = 1469598103934665603
	for _, b := range data {
		h = (h ^ int64(b)) * 1099511628211
	}
	return (int64(p.Kind)<<56 ^ p.ID<<8 ^ h) & (1<<62 - 1)
}

func (w *world) setName(old, name string, p Peer) {
	if old != "" {
		delete(w.names, strings.ToLower(old))
	}
	if name != "" {
		w.names[strings.ToLower(name)] = p
	}
}

// AddUser adds a user, or replaces the one with the same ID (a new access
// hash or username then takes effect, as after a change on Telegram).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) {
	old := ""
	if prev, ok := s.users[u.ID]; ok {
		old = prev.Username
	}
	u.Photo = append([]byte(nil), u.Photo...)
	s.users[u.ID] = &u
	s.setName(old, u.Username, UserPeer(u.ID))
	if len(u.Photo) > 0 {
		s.photos[photoID(UserPeer(u.ID), u.Photo)] = u.Photo
	}
	if u.Phone != "" {
		s.phones[u.Phone] = u.ID
	}
}

// AddBot adds a bot user that logs in with token.
func (s *Server) AddBot(token string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Bot = true
	s.addUserLocked(u)
	s.bots[token] = u.ID
}

// AddAccount adds a user that logs in by phone (a.User.Phone), login code
// and, if a.Password is set, a 2FA password checked with SRP as Telegram
// does.
func (s *Server) AddAccount(a Account) error {
	if a.User.Phone == "" || a.Code == "" {
		return fmt.Errorf("telegramtest: account needs a phone and a code")
	}
	acc := &account{code: a.Code}
	if a.Password != "" {
		v, err := newSRPVerifier(a.Password)
		if err != nil {
			return err
		}
		acc.srp = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(a.User)
	s.accounts[a.User.Phone] = acc
	return nil
}

// AddChannel adds a channel or supergroup, or replaces the one with the
// same ID.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := ""
	if prev, ok := s.channels[c.ID]; ok {
		old = prev.Username
	}
	c.Photo = append([]byte(nil), c.Photo...)
	s.channels[c.ID] = &c
	s.setName(old, c.Username, ChannelPeer(c.ID))
	if len(c.Photo) > 0 {
		s.photos[photoID(ChannelPeer(c.ID), c.Photo)] = c.Photo
	}
}

// AddChat adds a basic group, or replaces the one with the same ID.
func (s *Server) AddChat(c Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Photo = append([]byte(nil), c.Photo...)
	s.chats[c.ID] = &c
	if len(c.Photo) > 0 {
		s.photos[photoID(ChatPeer(c.ID), c.Photo)] = c.Photo
	}
}

// LogIn logs the auth key of a session made by Session (and so every copy
// of it) in as the user, as a completed login would, without recording a
// login. With LogOut it lets tests put one session into the state they
// need instead of paying for a key exchange each.
func (s *Server) LogIn(sessionData []byte, userID int64) error {
	key, err := authKeyID(sessionData)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return fmt.Errorf("telegramtest: no user %d", userID)
	}
	delete(s.pending, key)
	s.auth[key] = userID
	return nil
}

// LogOut logs the auth key of a session made by Session (and so every copy
// of it) out; the key stays valid.
func (s *Server) LogOut(sessionData []byte) error {
	key, err := authKeyID(sessionData)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.auth, key)
	delete(s.pending, key)
	return nil
}

func (s *Server) userObject(u *User, self int64) *tg.User {
	out := &tg.User{
		ID:         u.ID,
		AccessHash: u.AccessHash,
		FirstName:  u.FirstName,
		Username:   u.Username,
		Bot:        u.Bot,
		Self:       u.ID == self,
		Phone:      u.Phone,
	}
	if len(u.Photo) > 0 {
		out.Photo = &tg.UserProfilePhoto{PhotoID: photoID(UserPeer(u.ID), u.Photo), DCID: s.dc}
	}
	return out
}

func (s *Server) channelObject(c *Channel) *tg.Channel {
	out := &tg.Channel{
		ID:         c.ID,
		AccessHash: c.AccessHash,
		Title:      c.Title,
		Username:   c.Username,
		Broadcast:  !c.Megagroup,
		Megagroup:  c.Megagroup,
		Photo:      &tg.ChatPhotoEmpty{},
		Date:       int(time.Now().Unix()),
	}
	if len(c.Photo) > 0 {
		out.Photo = &tg.ChatPhoto{PhotoID: photoID(ChannelPeer(c.ID), c.Photo), DCID: s.dc}
	}
	return out
}

func (s *Server) chatObject(c *Chat) *tg.Chat {
	out := &tg.Chat{
		ID:                c.ID,
		Title:             c.Title,
		Photo:             &tg.ChatPhotoEmpty{},
		ParticipantsCount: 2,
		Date:              int(time.Now().Unix()),
	}
	if len(c.Photo) > 0 {
		out.Photo = &tg.ChatPhoto{PhotoID: photoID(ChatPeer(c.ID), c.Photo), DCID: s.dc}
	}
	return out
}

// inputPeerLocked checks an InputPeer the way Telegram does (the peer must
// exist and the access hash must match) and returns the peer it names.
func (s *Server) inputPeerLocked(in tg.InputPeerClass, self int64) (Peer, error) {
	switch p := in.(type) {
	case *tg.InputPeerSelf:
		return UserPeer(self), nil
	case *tg.InputPeerUser:
		if u, ok := s.users[p.UserID]; ok && u.AccessHash == p.AccessHash {
			return UserPeer(u.ID), nil
		}
		return Peer{}, tgerr.New(400, "PEER_ID_INVALID")
	case *tg.InputPeerChat:
		if _, ok := s.chats[p.ChatID]; ok {
			return ChatPeer(p.ChatID), nil
		}
		return Peer{}, tgerr.New(400, "PEER_ID_INVALID")
	case *tg.InputPeerChannel:
		if c, ok := s.channels[p.ChannelID]; ok && c.AccessHash == p.AccessHash {
			return ChannelPeer(c.ID), nil
		}
		return Peer{}, tgerr.New(400, "CHANNEL_INVALID")
	}
	return Peer{}, tgerr.New(400, "PEER_ID_INVALID")
}

// peerEntitiesLocked returns the user or chat objects a result mentioning
// these peers must carry.
func (s *Server) peerEntitiesLocked(self int64, peers ...Peer) (users []tg.UserClass, chats []tg.ChatClass) {
	seen := map[Peer]bool{}
	for _, p := range peers {
		if seen[p] {
			continue
		}
		seen[p] = true
		switch p.Kind {
		case PeerUser:
			if u, ok := s.users[p.ID]; ok {
				users = append(users, s.userObject(u, self))
			}
		case PeerChat:
			if c, ok := s.chats[p.ID]; ok {
				chats = append(chats, s.chatObject(c))
			}
		case PeerChannel:
			if c, ok := s.channels[p.ID]; ok {
				chats = append(chats, s.channelObject(c))
			}
		}
	}
	return users, chats
}
