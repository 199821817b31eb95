package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// outputTail is how much of a command's combined output an ExitError keeps.
const outputTail = 4 << 10

// maxLineLen splits longer output lines into several records, so that a
// command that never writes a newline cannot grow a record without bound.
const maxLineLen = 64 << 10

// defaultKillAfter is how long a cancelled command gets between SIGTERM
// and SIGKILL.
const defaultKillAfter = 5 * time.Second

// ExitError is the failure of an exec step whose command exited with a
// non-zero status or was killed by a signal.
type ExitError struct {
	// Code is the exit status, or -1 if a signal ended the command.
	Code int
	// Signal is the signal that ended the command, or 0.
	Signal syscall.Signal
	// Output is the last ~4 KiB of the command's stdout and stderr,
	// interleaved as they were read, one line per line.
	Output string
}

// Error says how the command ended: "exit status 3" or "signal: killed".
func (e *ExitError) Error() string {
	if e.Code < 0 {
		return "signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

type execStep struct {
	argv      []string
	env       []string // KEY=VALUE added to the inherited environment
	dir       string
	killAfter time.Duration
	// secret: argv[0] or dir came from the environment or a file, so start
	// errors must not repeat them.
	secret bool
}

func compileExec(d *decoder, e *entry, sc scope) stepFunc {
	f, ok := d.mapping(e.val, sc, keys{"command": true, "shell": false, "env": false, "dir": true, "kill_after": false})
	if !ok {
		return nil
	}
	before := len(d.errs)
	s := &execStep{killAfter: defaultKillAfter}
	shell, shellSet := false, false
	if e := f.get("shell"); e != nil {
		shell, shellSet = d.boolean(e.val, sc.key("shell"))
	}
	csc := sc.key("command")
	switch c := f.get("command"); {
	case c == nil:
		d.errorf(resolve(e.val), csc, "missing (an argv list like [/usr/local/bin/backup, --fast], or a string with shell: true)")
	case !c.file && resolve(c.val).Kind == yaml.SequenceNode:
		list := resolve(c.val)
		if shell {
			d.errorf(list, csc, "with shell: true the command is one string for /bin/sh -c, not a list")
			break
		}
		if len(list.Content) == 0 {
			d.errorf(list, csc, "must not be empty")
			break
		}
		for i, item := range list.Content {
			v, ok := d.text(item, csc.index(i))
			if !ok {
				continue
			}
			if i == 0 {
				if v.s == "" {
					d.errorf(v.node, csc.index(i), "the program must not be empty")
				}
				s.secret = s.secret || v.secret
			}
			s.argv = append(s.argv, v.s)
		}
	default:
		v, ok := d.str(c, csc)
		if !ok {
			break
		}
		switch {
		case !shell && shellSet:
			d.errorf(v.node, csc, "a string command runs under /bin/sh -c only with shell: true; give an argv list to run without a shell")
		case !shell:
			d.errorf(v.node, csc, "a string command needs shell: true (it then runs as /bin/sh -c STRING); "+
				"or give an argv list like [prog, arg] to run it without a shell")
		case strings.TrimSpace(v.s) == "":
			d.errorf(v.node, csc, "must not be empty")
		default:
			s.argv = []string{"/bin/sh", "-c", v.s}
		}
	}
	if e := f.get("env"); e != nil {
		env, _ := d.stringMap(e.val, sc.key("env"), func(k string) string {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return "invalid environment variable name"
			}
			return ""
		})
		for _, v := range env {
			s.env = append(s.env, v.raw+"="+v.s)
		}
	}
	if e := f.get("dir"); e != nil {
		if v, ok := d.str(e, sc.key("dir")); ok {
			s.dir, s.secret = v.s, s.secret || v.secret
		}
	}
	if e := f.get("kill_after"); e != nil {
		if t, ok := d.duration(e.val, sc.key("kill_after")); ok {
			s.killAfter = t
		}
	}
	if len(d.errs) > before {
		return nil
	}
	return s.run
}

// run starts the command in its own process group and waits for it. When
// ctx ends, the group gets SIGTERM, and SIGKILL killAfter later; once the
// leader has exited, whatever is left of the group is killed, so nothing a
// run starts outlives it.
func (s *execStep) run(ctx context.Context, rc *runCtx) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("exec: %w", err)
	}
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = s.environ(rc)
	// Giving the pipes as *os.File lets the child write to them directly:
	// Wait then has no copying goroutines to wait for, so a grandchild
	// still holding the pipe cannot block it.
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGTERM) }
	// After the grace, Wait kills the leader; the rest of the group is
	// killed below once the leader is gone.
	cmd.WaitDelay = s.killAfter
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("exec: not started: %w", context.Cause(ctx))
		}
		return fmt.Errorf("exec: starting the command: %w", s.startError(err))
	}
	pgid := cmd.Process.Pid

	tail := &tailBuffer{}
	var readers sync.WaitGroup
	readers.Go(func() { pump(outR, rc.log.With("stream", "stdout"), tail) })
	readers.Go(func() { pump(errR, rc.log.With("stream", "stderr"), tail) })

	_ = cmd.Wait()
	_ = signalGroup(pgid, syscall.SIGKILL)

	// The group is dead, so the pipes reach EOF at once, unless a process
	// that left the group (setsid) still holds them: stop reading then.
	drained := make(chan struct{})
	go func() {
		readers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(max(s.killAfter, 100*time.Millisecond)):
		rc.log.Warn("exec: a process outside the job's process group still holds its output; no longer reading it")
	}
	outR.Close()
	errR.Close()
	<-drained

	var exitErr *ExitError
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			exitErr = &ExitError{Code: -1, Signal: ws.Signal()}
		case ws.ExitStatus() != 0:
			exitErr = &ExitError{Code: ws.ExitStatus()}
		}
	} else if !cmd.ProcessState.Success() {
		exitErr = &ExitError{Code: cmd.ProcessState.ExitCode()}
	}
	if exitErr != nil {
		exitErr.Output = tail.String()
	}
	if ctx.Err() != nil {
		// Stopped by a timeout, a replacing run or shutdown: even an exit
		// status of 0 then means the work was interrupted.
		if exitErr != nil {
			return fmt.Errorf("exec: command stopped (%w): %w", context.Cause(ctx), exitErr)
		}
		return fmt.Errorf("exec: command stopped: %w", context.Cause(ctx))
	}
	if exitErr != nil {
		return fmt.Errorf("exec: command failed: %w", exitErr)
	}
	return nil
}

// environ returns the command's environment: the scheduler's own, then,
// in an alert, the alert's SCHEDULER_* variables, then the step's env:,
// which wins over both. nil means the scheduler's, unchanged.
func (s *execStep) environ(rc *runCtx) []string {
	if rc.alert == nil && len(s.env) == 0 {
		return nil
	}
	env := os.Environ()
	if rc.alert != nil {
		env = append(env, rc.alert.environ(rc)...)
	}
	return append(env, s.env...)
}

// startError returns err, or, when the program or directory came from the
// environment or a file, only the part of err that does not name them.
func (s *execStep) startError(err error) error {
	if !s.secret {
		return err
	}
	if errors.Is(err, exec.ErrNotFound) {
		return exec.ErrNotFound
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return errors.New("the command could not be started")
}

// signalGroup sends sig to every process in the group pgid.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

// pump logs each line read from r as one record and keeps the tail of the
// output.
func pump(r io.Reader, log *slog.Logger, tail *tailBuffer) {
	br := bufio.NewReaderSize(r, maxLineLen)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
			log.Info(text)
			tail.addLine(text)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// tailBuffer keeps the last outputTail bytes of the lines written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) addLine(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > 2*outputTail {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-outputTail:]...)
	}
}

// String returns the tail, starting at a line boundary when it was cut
// inside a line and a later line starts within it.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if cut := len(b) - outputTail; cut > 0 {
		b = b[cut:]
		if t.buf[cut-1] != '\n' {
			if i := strings.IndexByte(string(b[:len(b)-1]), '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		for len(b) > 0 && !utf8.RuneStart(b[0]) {
			b = b[1:]
		}
	}
	return string(b)
}
