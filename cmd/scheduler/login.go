package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/scheduler-dev/scheduler/telegram"
)

func (c *cli) loginCommand(args []string) int {
	f := c.newFlags("login", "login [--config FILE]",
		`Log a Telegram user account in, for telegram jobs that act as a user
(reading history, sending to your own "me" chat as yourself). It asks for
the phone number, the login code Telegram sends, and the 2FA password if
the account has one (without echo), then saves the session in the
telegram: block's session_file (mode 0600), where scheduler run finds it.
A bot needs no login: it uses its bot_token.
`)
	config := f.configFlag()
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, code, ok := f.loadConfig(*config)
	if !ok {
		return code
	}
	switch {
	case cfg.Telegram == nil:
		return f.usageError("%s has no telegram: block to log in with", cfg.File)
	case cfg.Telegram.BotToken != "":
		return f.usageError("%s: the telegram: block has a bot_token: a bot logs in with it, scheduler login is for user accounts", cfg.File)
	}
	logger, err := newLogger(c.stderr, "text", "warn")
	if err != nil {
		return f.usageError("%v", err)
	}
	tc := *cfg.Telegram
	tc.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p := &terminalPrompter{in: bufio.NewReader(c.stdin), file: c.stdin, out: c.stderr}
	if err := telegram.Login(ctx, tc, p); err != nil {
		fmt.Fprintf(c.stderr, "login failed: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(c.stdout, "logged in; the session is in %s\n", tc.SessionFile)
	return exitOK
}

// terminalPrompter asks on the terminal; the password is read without echo
// when the input is one. Piped input (scripts, tests) is read line by line.
type terminalPrompter struct {
	in   *bufio.Reader
	file io.Reader // the raw input, to tell a terminal
	out  io.Writer
}

func (p *terminalPrompter) Phone(ctx context.Context) (string, error) {
	return p.ask("Phone number (international format, e.g. +491701234567): ")
}

func (p *terminalPrompter) Code(ctx context.Context) (string, error) {
	return p.ask("Login code (sent to your Telegram app): ")
}

func (p *terminalPrompter) Password(ctx context.Context) (string, error) {
	if f, ok := p.file.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(p.out, "2FA password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.out)
		return string(b), err
	}
	return p.ask("2FA password: ")
}

func (p *terminalPrompter) ask(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	line, err := p.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}
