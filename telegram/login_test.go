package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scheduler-dev/scheduler/telegram"
	"github.com/scheduler-dev/scheduler/telegram/telegramtest"
)

// script is a Prompter that answers from lists and counts the questions.
type script struct {
	phone      string
	codes, pws []string
	asked      map[string]int
}

func (s *script) next(kind string, answers []string) (string, error) {
	if s.asked == nil {
		s.asked = map[string]int{}
	}
	i := s.asked[kind]
	s.asked[kind]++
	if i >= len(answers) {
		return "", errors.New("no more " + kind + " answers")
	}
	return answers[i], nil
}

func (s *script) Phone(context.Context) (string, error)    { return s.phone, nil }
func (s *script) Code(context.Context) (string, error)     { return s.next("code", s.codes) }
func (s *script) Password(context.Context) (string, error) { return s.next("password", s.pws) }

func TestLogin(t *testing.T) {
	fresh(t)
	dave := telegramtest.User{ID: 1004, AccessHash: 444, Username: "dave", FirstName: "Dave", Phone: "15550001111"}
	if err := srv.AddAccount(telegramtest.Account{User: dave, Code: "24680", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	loggedOut(t)
	cfg := config(t)
	cfg.BotToken = ""

	// A mistyped code and password are asked again.
	p := &script{phone: dave.Phone, codes: []string{"11111", "24680"}, pws: []string{"wrong horse", "correct horse"}}
	if err := telegram.Login(t.Context(), cfg, p); err != nil {
		t.Fatal(err)
	}
	if p.asked["code"] != 2 || p.asked["password"] != 2 {
		t.Errorf("asked %v, want the code and the password twice each", p.asked)
	}
	if logins := srv.Logins(); len(logins) != 1 || logins[0].UserID != dave.ID || logins[0].Bot {
		t.Fatalf("server logins = %+v, want dave", logins)
	}

	// Run now uses the user session; "me" is dave's Saved Messages.
	c := start(t, cfg)
	if err := c.Send(t.Context(), telegram.Message{To: "me", Text: "note to self", RandomID: 9}); err != nil {
		t.Fatal(err)
	}
	if got := messagesTo(telegramtest.UserPeer(dave.ID)); len(got) != 1 || got[0].From != dave.ID {
		t.Errorf("saved messages = %+v, want one from dave", got)
	}
	c.stop(t)

	// Logging in again only confirms.
	again := &script{phone: dave.Phone}
	if err := telegram.Login(t.Context(), cfg, again); err != nil || len(again.asked) != 0 {
		t.Errorf("second Login = %v after asking %v; want nothing asked", err, again.asked)
	}
}

func TestLoginFailures(t *testing.T) {
	fresh(t)
	erin := telegramtest.User{ID: 1005, AccessHash: 555, Username: "erin", FirstName: "Erin", Phone: "15550002222"}
	if err := srv.AddAccount(telegramtest.Account{User: erin, Code: "13579"}); err != nil {
		t.Fatal(err)
	}
	loggedOut(t)
	cfg := config(t)
	cfg.BotToken = ""

	err := telegram.Login(t.Context(), cfg, &script{phone: erin.Phone, codes: []string{"1", "2", "3"}})
	if err == nil || !strings.Contains(err.Error(), "wrong login code 3 times") || !strings.Contains(err.Error(), "PHONE_CODE_INVALID") {
		t.Errorf("three wrong codes: err = %v", err)
	}
	err = telegram.Login(t.Context(), cfg, &script{phone: "999"})
	if err == nil || !strings.Contains(err.Error(), "PHONE_NUMBER_INVALID") {
		t.Errorf("unknown phone: err = %v", err)
	}
	cfg.BotToken = botToken
	if err := telegram.Login(t.Context(), cfg, &script{}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Login with a bot token: err = %v, want a refusal that does not show the token", err)
	}
	if n := len(srv.Logins()); n != 0 {
		t.Errorf("%d logins, want none", n)
	}
}
