package telegramtest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
	"github.com/gotd/td/tgtest"
)

// request is a decoded RPC request.
type request interface {
	bin.Decoder
	bin.Encoder
}

// newRequest returns an empty request of the given TL type, or nil for a
// method the server does not implement.
func newRequest(id uint32) request {
	switch id {
	case tg.HelpGetConfigRequestTypeID:
		return &tg.HelpGetConfigRequest{}
	case tg.AuthImportBotAuthorizationRequestTypeID:
		return &tg.AuthImportBotAuthorizationRequest{}
	case tg.AuthSendCodeRequestTypeID:
		return &tg.AuthSendCodeRequest{}
	case tg.AuthSignInRequestTypeID:
		return &tg.AuthSignInRequest{}
	case tg.AccountGetPasswordRequestTypeID:
		return &tg.AccountGetPasswordRequest{}
	case tg.AuthCheckPasswordRequestTypeID:
		return &tg.AuthCheckPasswordRequest{}
	case tg.AuthLogOutRequestTypeID:
		return &tg.AuthLogOutRequest{}
	case tg.UsersGetUsersRequestTypeID:
		return &tg.UsersGetUsersRequest{}
	case tg.ChannelsGetChannelsRequestTypeID:
		return &tg.ChannelsGetChannelsRequest{}
	case tg.MessagesGetChatsRequestTypeID:
		return &tg.MessagesGetChatsRequest{}
	case tg.ContactsResolveUsernameRequestTypeID:
		return &tg.ContactsResolveUsernameRequest{}
	case tg.MessagesSendMessageRequestTypeID:
		return &tg.MessagesSendMessageRequest{}
	case tg.MessagesSendMediaRequestTypeID:
		return &tg.MessagesSendMediaRequest{}
	case tg.MessagesForwardMessagesRequestTypeID:
		return &tg.MessagesForwardMessagesRequest{}
	case tg.MessagesGetHistoryRequestTypeID:
		return &tg.MessagesGetHistoryRequest{}
	case tg.UploadSaveFilePartRequestTypeID:
		return &tg.UploadSaveFilePartRequest{}
	case tg.UploadSaveBigFilePartRequestTypeID:
		return &tg.UploadSaveBigFilePartRequest{}
	case tg.UploadGetFileRequestTypeID:
		return &tg.UploadGetFileRequest{}
	}
	return nil
}

// public methods work without a login.
func public(id uint32) bool {
	switch id {
	case tg.HelpGetConfigRequestTypeID, tg.AuthImportBotAuthorizationRequestTypeID,
		tg.AuthSendCodeRequestTypeID, tg.AuthSignInRequestTypeID,
		tg.AccountGetPasswordRequestTypeID, tg.AuthCheckPasswordRequestTypeID,
		tg.AuthLogOutRequestTypeID:
		return true
	}
	return false
}

// handle is the tgtest handler: it decodes the request, applies an injected
// fault if one matches and answers. It returns an error only when the
// connection itself is broken; RPC errors are sent as answers.
func (s *Server) handle(srv *tgtest.Server, req *tgtest.Request) error {
	id, err := req.Buf.PeekID()
	if err != nil {
		return err
	}
	r := newRequest(id)
	s.mu.Lock()
	s.calls[id]++
	s.mu.Unlock()
	if r == nil {
		return srv.SendErr(req, tgerr.New(400, "INPUT_METHOD_INVALID"))
	}
	if err := r.Decode(req.Buf); err != nil {
		return srv.SendErr(req, tgerr.New(400, "INPUT_REQUEST_INVALID"))
	}

	key := req.Session.AuthKey.ID
	s.mu.Lock()
	self := s.auth[key]
	if rid := randomIDOf(r); rid != 0 {
		s.attempts = append(s.attempts, rid)
	}
	f := s.takeFaultLocked(id, targetOf(r, self))
	s.mu.Unlock()

	if f == nil {
		s.answer(srv, req, id, r, nil)
		return nil
	}
	if f.Delay > 0 {
		// Answer later without holding up the connection's read loop, as a
		// slow Telegram does.
		go func() {
			time.Sleep(f.Delay)
			s.answer(srv, req, id, r, f)
		}()
		return nil
	}
	s.answer(srv, req, id, r, f)
	return nil
}

func (s *Server) answer(srv *tgtest.Server, req *tgtest.Request, id uint32, r request, f *Fault) {
	if f != nil && f.Err != nil {
		_ = srv.SendErr(req, f.Err)
		return
	}
	result, err := s.process(req.Session.AuthKey.ID, id, r)
	if f != nil && f.Disconnect {
		srv.ForceDisconnect(req.Session)
		return
	}
	var rpcErr *tgerr.Error
	switch {
	case errors.As(err, &rpcErr):
		_ = srv.SendErr(req, rpcErr)
	case err != nil:
		_ = srv.SendErr(req, tgerr.New(500, "INTERNAL"))
	default:
		_ = srv.SendResult(req, result)
	}
}

// targetOf returns the chat a request is aimed at, for matching faults.
func targetOf(r request, self int64) Peer {
	var in tg.InputPeerClass
	switch r := r.(type) {
	case *tg.MessagesSendMessageRequest:
		in = r.Peer
	case *tg.MessagesSendMediaRequest:
		in = r.Peer
	case *tg.MessagesForwardMessagesRequest:
		in = r.ToPeer
	case *tg.MessagesGetHistoryRequest:
		in = r.Peer
	default:
		return Peer{}
	}
	switch p := in.(type) {
	case *tg.InputPeerSelf:
		return UserPeer(self)
	case *tg.InputPeerUser:
		return UserPeer(p.UserID)
	case *tg.InputPeerChat:
		return ChatPeer(p.ChatID)
	case *tg.InputPeerChannel:
		return ChannelPeer(p.ChannelID)
	}
	return Peer{}
}

func randomIDOf(r request) int64 {
	switch r := r.(type) {
	case *tg.MessagesSendMessageRequest:
		return r.RandomID
	case *tg.MessagesSendMediaRequest:
		return r.RandomID
	case *tg.MessagesForwardMessagesRequest:
		if len(r.RandomID) > 0 {
			return r.RandomID[0]
		}
	}
	return 0
}

var usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{2,31}$`)

func (s *Server) process(key [8]byte, id uint32, r request) (bin.Encoder, error) {
	if id == tg.HelpGetConfigRequestTypeID {
		return s.config(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	self := s.auth[key]
	if self == 0 && !public(id) {
		return nil, tgerr.New(401, "AUTH_KEY_UNREGISTERED")
	}
	switch r := r.(type) {
	case *tg.AuthImportBotAuthorizationRequest:
		return s.botLoginLocked(key, r)
	case *tg.AuthSendCodeRequest:
		return s.sendCodeLocked(r)
	case *tg.AuthSignInRequest:
		return s.signInLocked(key, r)
	case *tg.AccountGetPasswordRequest:
		return s.getPasswordLocked(key)
	case *tg.AuthCheckPasswordRequest:
		return s.checkPasswordLocked(key, r)
	case *tg.AuthLogOutRequest:
		delete(s.auth, key)
		return &tg.AuthLoggedOut{}, nil
	case *tg.UsersGetUsersRequest:
		return s.getUsersLocked(self, r)
	case *tg.ChannelsGetChannelsRequest:
		return s.getChannelsLocked(self, r)
	case *tg.MessagesGetChatsRequest:
		var chats []tg.ChatClass
		for _, id := range r.ID {
			if c, ok := s.chats[id]; ok {
				chats = append(chats, s.chatObject(c))
			}
		}
		return &tg.MessagesChats{Chats: chats}, nil
	case *tg.ContactsResolveUsernameRequest:
		if !usernameRE.MatchString(r.Username) {
			return nil, tgerr.New(400, "USERNAME_INVALID")
		}
		p, ok := s.names[strings.ToLower(r.Username)]
		if !ok {
			return nil, tgerr.New(400, "USERNAME_NOT_OCCUPIED")
		}
		users, chats := s.peerEntitiesLocked(self, p)
		return &tg.ContactsResolvedPeer{Peer: p.tg(), Users: users, Chats: chats}, nil
	case *tg.MessagesSendMessageRequest:
		if r.Message == "" {
			return nil, tgerr.New(400, "MESSAGE_EMPTY")
		}
		to, err := s.inputPeerLocked(r.Peer, self)
		if err != nil {
			return nil, err
		}
		m, err := s.postLocked(&Message{
			Peer: to, From: self, Text: r.Message, Entities: r.Entities,
			Silent: r.Silent, NoWebpage: r.NoWebpage, RandomID: r.RandomID,
		})
		if err != nil {
			return nil, err
		}
		return &tg.UpdateShortSentMessage{Out: true, ID: m.ID, Date: int(m.Date.Unix()), Entities: m.Entities}, nil
	case *tg.MessagesSendMediaRequest:
		return s.sendMediaLocked(self, r)
	case *tg.MessagesForwardMessagesRequest:
		return s.forwardLocked(self, r)
	case *tg.MessagesGetHistoryRequest:
		return s.historyLocked(self, r)
	case *tg.UploadSaveFilePartRequest:
		s.savePartLocked(r.FileID, r.FilePart, r.Bytes)
		return &tg.BoolTrue{}, nil
	case *tg.UploadSaveBigFilePartRequest:
		s.savePartLocked(r.FileID, r.FilePart, r.Bytes)
		return &tg.BoolTrue{}, nil
	case *tg.UploadGetFileRequest:
		return s.getFileLocked(r)
	}
	return nil, tgerr.New(400, "INPUT_METHOD_INVALID")
}

func (s *Server) botLoginLocked(key [8]byte, r *tg.AuthImportBotAuthorizationRequest) (bin.Encoder, error) {
	id, ok := s.bots[r.BotAuthToken]
	if !ok {
		return nil, tgerr.New(400, "ACCESS_TOKEN_INVALID")
	}
	s.auth[key] = id
	s.logins = append(s.logins, Login{UserID: id, APIID: r.APIID, Bot: true, Date: s.clock.Now()})
	return &tg.AuthAuthorization{User: s.userObject(s.users[id], id)}, nil
}

// phoneCodeHash is fixed: the server checks the code, not the hash's secrecy.
const phoneCodeHash = "telegramtest"

func (s *Server) sendCodeLocked(r *tg.AuthSendCodeRequest) (bin.Encoder, error) {
	acc, ok := s.accounts[r.PhoneNumber]
	if !ok {
		return nil, tgerr.New(400, "PHONE_NUMBER_INVALID")
	}
	return &tg.AuthSentCode{Type: &tg.AuthSentCodeTypeApp{Length: len(acc.code)}, PhoneCodeHash: phoneCodeHash}, nil
}

func (s *Server) signInLocked(key [8]byte, r *tg.AuthSignInRequest) (bin.Encoder, error) {
	acc, ok := s.accounts[r.PhoneNumber]
	if !ok {
		return nil, tgerr.New(400, "PHONE_NUMBER_INVALID")
	}
	if r.PhoneCodeHash != phoneCodeHash {
		return nil, tgerr.New(400, "PHONE_CODE_EXPIRED")
	}
	if r.PhoneCode != acc.code {
		return nil, tgerr.New(400, "PHONE_CODE_INVALID")
	}
	id := s.phones[r.PhoneNumber]
	if acc.srp != nil {
		s.pending[key] = id
		return nil, tgerr.New(401, "SESSION_PASSWORD_NEEDED")
	}
	return s.loginUserLocked(key, id), nil
}

func (s *Server) loginUserLocked(key [8]byte, id int64) *tg.AuthAuthorization {
	delete(s.pending, key)
	s.auth[key] = id
	s.logins = append(s.logins, Login{UserID: id, Date: s.clock.Now()})
	return &tg.AuthAuthorization{User: s.userObject(s.users[id], id)}
}

func (s *Server) accountFor(id int64) *account {
	if u, ok := s.users[id]; ok {
		return s.accounts[u.Phone]
	}
	return nil
}

func (s *Server) getPasswordLocked(key [8]byte) (bin.Encoder, error) {
	id := s.pending[key]
	if id == 0 {
		id = s.auth[key]
	}
	acc := s.accountFor(id)
	// The client takes its SRP secret from secure_random.
	secure := make([]byte, 256)
	_, _ = rand.Read(secure)
	out := &tg.AccountPassword{
		NewAlgo:       &tg.PasswordKdfAlgoUnknown{},
		NewSecureAlgo: &tg.SecurePasswordKdfAlgoUnknown{},
		SecureRandom:  secure,
	}
	if acc == nil || acc.srp == nil {
		return out, nil
	}
	round, err := acc.srp.challenge()
	if err != nil {
		return nil, err
	}
	s.nextSRP++
	s.srpRound[s.nextSRP] = round
	algo := acc.srp.algo
	out.HasPassword = true
	out.CurrentAlgo = &algo
	out.SRPB = round.B
	out.SRPID = s.nextSRP
	return out, nil
}

func (s *Server) checkPasswordLocked(key [8]byte, r *tg.AuthCheckPasswordRequest) (bin.Encoder, error) {
	id := s.pending[key]
	acc := s.accountFor(id)
	in, ok := r.Password.(*tg.InputCheckPasswordSRP)
	if id == 0 || acc == nil || acc.srp == nil || !ok {
		return nil, tgerr.New(400, "PASSWORD_HASH_INVALID")
	}
	round, ok := s.srpRound[in.SRPID]
	delete(s.srpRound, in.SRPID)
	if !ok {
		return nil, tgerr.New(400, "SRP_ID_INVALID")
	}
	if !acc.srp.verify(round, in.A, in.M1) {
		return nil, tgerr.New(400, "PASSWORD_HASH_INVALID")
	}
	return s.loginUserLocked(key, id), nil
}

func (s *Server) getUsersLocked(self int64, r *tg.UsersGetUsersRequest) (bin.Encoder, error) {
	bot := s.users[self] != nil && s.users[self].Bot
	out := &tg.UserClassVector{}
	for _, in := range r.ID {
		switch in := in.(type) {
		case *tg.InputUserSelf:
			out.Elems = append(out.Elems, s.userObject(s.users[self], self))
		case *tg.InputUser:
			u, ok := s.users[in.UserID]
			// Bots may look users up with access_hash 0, as Telegram allows.
			if ok && (in.AccessHash == u.AccessHash || bot && in.AccessHash == 0) {
				out.Elems = append(out.Elems, s.userObject(u, self))
			}
		}
	}
	return out, nil
}

func (s *Server) getChannelsLocked(self int64, r *tg.ChannelsGetChannelsRequest) (bin.Encoder, error) {
	bot := s.users[self] != nil && s.users[self].Bot
	out := &tg.MessagesChats{}
	for _, in := range r.ID {
		in, ok := in.(*tg.InputChannel)
		if !ok {
			continue
		}
		c, ok := s.channels[in.ChannelID]
		if !ok || !(in.AccessHash == c.AccessHash || bot && in.AccessHash == 0) {
			return nil, tgerr.New(400, "CHANNEL_INVALID")
		}
		out.Chats = append(out.Chats, s.channelObject(c))
	}
	return out, nil
}

func (s *Server) savePartLocked(fileID int64, part int, data []byte) {
	parts := s.uploads[fileID]
	if parts == nil {
		parts = map[int][]byte{}
		s.uploads[fileID] = parts
	}
	parts[part] = slices.Clone(data)
}

func (s *Server) fileLocked(in tg.InputFileClass) (string, []byte, error) {
	var (
		id    int64
		n     int
		name  string
		check string
	)
	switch f := in.(type) {
	case *tg.InputFile:
		id, n, name, check = f.ID, f.Parts, f.Name, f.MD5Checksum
	case *tg.InputFileBig:
		id, n, name = f.ID, f.Parts, f.Name
	default:
		return "", nil, tgerr.New(400, "FILE_PARTS_INVALID")
	}
	parts := s.uploads[id]
	var data []byte
	for i := range n {
		p, ok := parts[i]
		if !ok {
			return "", nil, tgerr.New(400, "FILE_PART_MISSING")
		}
		data = append(data, p...)
	}
	if check != "" {
		sum := md5.Sum(data)
		if hex.EncodeToString(sum[:]) != check {
			return "", nil, tgerr.New(400, "MD5_CHECKSUM_INVALID")
		}
	}
	return name, data, nil
}

func (s *Server) sendMediaLocked(self int64, r *tg.MessagesSendMediaRequest) (bin.Encoder, error) {
	to, err := s.inputPeerLocked(r.Peer, self)
	if err != nil {
		return nil, err
	}
	var file File
	switch m := r.Media.(type) {
	case *tg.InputMediaUploadedDocument:
		name, data, err := s.fileLocked(m.File)
		if err != nil {
			return nil, err
		}
		file = File{Name: name, MimeType: m.MimeType, Data: data}
		for _, a := range m.Attributes {
			if fn, ok := a.(*tg.DocumentAttributeFilename); ok {
				file.Name = fn.FileName
			}
		}
	case *tg.InputMediaUploadedPhoto:
		name, data, err := s.fileLocked(m.File)
		if err != nil {
			return nil, err
		}
		file = File{Name: name, MimeType: "image/jpeg", Photo: true, Data: data}
	default:
		return nil, tgerr.New(400, "MEDIA_INVALID")
	}
	m, err := s.postLocked(&Message{
		Peer: to, From: self, Text: r.Message, Entities: r.Entities,
		Silent: r.Silent, RandomID: r.RandomID, Media: &file,
	})
	if err != nil {
		return nil, err
	}
	return s.sentUpdates(m), nil
}

func (s *Server) sentUpdates(ms ...*Message) *tg.Updates {
	u := &tg.Updates{Date: int(s.clock.Now().Unix())}
	for _, m := range ms {
		u.Updates = append(u.Updates, &tg.UpdateMessageID{ID: m.ID, RandomID: m.RandomID})
	}
	return u
}

func (s *Server) forwardLocked(self int64, r *tg.MessagesForwardMessagesRequest) (bin.Encoder, error) {
	from, err := s.inputPeerLocked(r.FromPeer, self)
	if err != nil {
		return nil, err
	}
	to, err := s.inputPeerLocked(r.ToPeer, self)
	if err != nil {
		return nil, err
	}
	if len(r.ID) == 0 || len(r.ID) != len(r.RandomID) {
		return nil, tgerr.New(400, "RANDOM_ID_INVALID")
	}
	var sent []*Message
	for i, id := range r.ID {
		src := s.findLocked(from, id)
		if src == nil {
			return nil, tgerr.New(400, "MESSAGE_ID_INVALID")
		}
		m, err := s.postLocked(&Message{
			Peer: to, From: self, Text: src.Text, Entities: src.Entities,
			Silent: r.Silent, RandomID: r.RandomID[i], Media: src.Media,
			Forwarded: &Forward{From: from, ID: id, DropAuthor: r.DropAuthor},
		})
		if err != nil {
			return nil, err
		}
		sent = append(sent, m)
	}
	return s.sentUpdates(sent...), nil
}

func (s *Server) findLocked(p Peer, id int) *Message {
	for _, m := range s.messages {
		if m.Peer == p && m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Server) historyLocked(self int64, r *tg.MessagesGetHistoryRequest) (bin.Encoder, error) {
	if u := s.users[self]; u != nil && u.Bot {
		return nil, tgerr.New(400, "BOT_METHOD_INVALID") // as on Telegram
	}
	p, err := s.inputPeerLocked(r.Peer, self)
	if err != nil {
		return nil, err
	}
	limit := r.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	out := &tg.MessagesMessages{}
	peers := []Peer{p}
	for i := len(s.messages) - 1; i >= 0 && len(out.Messages) < limit; i-- {
		m := s.messages[i]
		if m.Peer != p || r.OffsetID != 0 && m.ID >= r.OffsetID {
			continue
		}
		out.Messages = append(out.Messages, &tg.Message{
			ID:       m.ID,
			Out:      m.From == self,
			FromID:   &tg.PeerUser{UserID: m.From},
			PeerID:   m.Peer.tg(),
			Date:     int(m.Date.Unix()),
			Message:  m.Text,
			Entities: m.Entities,
		})
		peers = append(peers, UserPeer(m.From))
	}
	out.Users, out.Chats = s.peerEntitiesLocked(self, peers...)
	return out, nil
}

func (s *Server) getFileLocked(r *tg.UploadGetFileRequest) (bin.Encoder, error) {
	loc, ok := r.Location.(*tg.InputPeerPhotoFileLocation)
	if !ok {
		return nil, tgerr.New(400, "LOCATION_INVALID")
	}
	data, ok := s.photos[loc.PhotoID]
	if !ok {
		return nil, tgerr.New(400, "LOCATION_INVALID")
	}
	if r.Offset < 0 || r.Limit <= 0 {
		return nil, tgerr.New(400, "LIMIT_INVALID")
	}
	start := min(int(r.Offset), len(data))
	end := min(start+r.Limit, len(data))
	return &tg.UploadFile{
		Type:  &tg.StorageFileJpeg{},
		Mtime: int(s.clock.Now().Unix()),
		Bytes: slices.Clone(data[start:end]),
	}, nil
}
