package telegram

import (
	"context"
	"errors"
	"fmt"

	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

// Prompter asks the person logging in for what a user login needs. The
// command line implements it on the terminal (without echo for the
// password).
type Prompter interface {
	// Phone returns the account's phone number in international format.
	Phone(ctx context.Context) (string, error)
	// Code returns the login code Telegram sent to the account's other
	// sessions or by SMS.
	Code(ctx context.Context) (string, error)
	// Password returns the account's 2FA password; asked only if it has one.
	Password(ctx context.Context) (string, error)
}

// loginAttempts is how often Login asks again for a mistyped code or
// password.
const loginAttempts = 3

// Login logs a user account in and leaves the session in cfg.SessionFile,
// where Run picks it up. cfg must not have a BotToken. If the session is
// logged in already, Login only says so in the log.
func Login(ctx context.Context, cfg Config, p Prompter) error {
	if cfg.BotToken != "" {
		return errors.New("telegram: login is for user accounts; a bot logs in with its bot_token")
	}
	c, err := NewClient(cfg)
	if err != nil {
		return err
	}
	var loginErr error
	err = c.tc.Run(ctx, func(ctx context.Context) error {
		loginErr = c.login(ctx, p)
		return loginErr
	})
	if loginErr != nil {
		return c.redact(loginErr)
	}
	if err != nil {
		return c.redact(fmt.Errorf("telegram: login: %w", err))
	}
	return nil
}

func (c *Client) login(ctx context.Context, p Prompter) error {
	a := c.tc.Auth()
	status, err := a.Status(ctx)
	if err != nil {
		return fmt.Errorf("telegram: check login: %w", err)
	}
	if status.Authorized {
		c.log.Info("already logged in", "user_id", status.User.ID, "username", status.User.Username)
		return nil
	}
	phone, err := p.Phone(ctx)
	if err != nil {
		return fmt.Errorf("telegram: login: phone: %w", err)
	}
	sent, err := a.SendCode(ctx, phone, auth.SendCodeOptions{})
	if err != nil {
		return fmt.Errorf("telegram: login: send code: %w", err)
	}
	var authz *tg.AuthAuthorization
	switch s := sent.(type) {
	case *tg.AuthSentCode:
		authz, err = c.signIn(ctx, a, p, phone, s.PhoneCodeHash)
	case *tg.AuthSentCodeSuccess:
		authz, _ = s.Authorization.(*tg.AuthAuthorization)
		if authz == nil {
			err = errors.New("this phone number has no Telegram account; sign up in an official app first")
		}
	default:
		err = fmt.Errorf("unexpected answer %T", sent)
	}
	if err != nil {
		return fmt.Errorf("telegram: login: %w", err)
	}
	if u, ok := authz.User.AsNotEmpty(); ok {
		c.log.Info("logged in", "user_id", u.ID, "username", u.Username, "session_file", c.cfg.SessionFile)
	}
	return nil
}

func (c *Client) signIn(ctx context.Context, a *auth.Client, p Prompter, phone, hash string) (*tg.AuthAuthorization, error) {
	var err error
	for range loginAttempts {
		var code string
		if code, err = p.Code(ctx); err != nil {
			return nil, fmt.Errorf("code: %w", err)
		}
		var authz *tg.AuthAuthorization
		authz, err = a.SignIn(ctx, phone, code, hash)
		switch {
		case err == nil:
			return authz, nil
		case errors.Is(err, auth.ErrPasswordAuthNeeded):
			return c.password(ctx, a, p)
		case tgerr.Is(err, "PHONE_CODE_INVALID", "PHONE_CODE_EMPTY"):
			c.log.Warn("wrong login code; try again")
			continue
		}
		var signUp *auth.SignUpRequired
		if errors.As(err, &signUp) {
			return nil, errors.New("this phone number has no Telegram account; sign up in an official app first")
		}
		return nil, err
	}
	return nil, fmt.Errorf("wrong login code %d times: %w", loginAttempts, err)
}

func (c *Client) password(ctx context.Context, a *auth.Client, p Prompter) (*tg.AuthAuthorization, error) {
	var err error
	for range loginAttempts {
		var pw string
		if pw, err = p.Password(ctx); err != nil {
			return nil, fmt.Errorf("2FA password: %w", err)
		}
		var authz *tg.AuthAuthorization
		authz, err = a.Password(ctx, pw)
		if errors.Is(err, auth.ErrPasswordInvalid) {
			c.log.Warn("wrong 2FA password; try again")
			continue
		}
		if err != nil {
			// gotd's errors name the step, never the password.
			return nil, fmt.Errorf("2FA password: %w", err)
		}
		return authz, nil
	}
	return nil, fmt.Errorf("wrong 2FA password %d times", loginAttempts)
}
