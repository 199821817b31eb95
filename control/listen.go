package control

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// SocketName is the control socket's file name, in $RUNTIME_DIRECTORY or
// the state directory.
const SocketName = "scheduler.sock"

// maxSocketPath is the longest path a Unix socket can be bound to (the size
// of sun_path, less its terminating NUL).
const maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1

// Listen creates the control socket at path, readable and writable by its
// owner only (0600), and accepts only peers running as the same user or as
// root: the file mode keeps others out of the socket, the peer check keeps
// them out even where the mode is not honoured. A socket file left by a
// process that died is replaced; the caller must hold the state store (its
// lock proves no other scheduler uses this directory).
func Listen(path string, logger *slog.Logger) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: the path is %d bytes, longer than the %d a Unix socket allows; set $RUNTIME_DIRECTORY or pass --socket", path, len(path), maxSocketPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("control socket %s: a file that is not a socket is in the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: removing the stale one: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &peerListener{UnixListener: l, uid: uint32(os.Getuid()), logger: logger}, nil
}

// peerListener accepts connections only from its own user and root.
type peerListener struct {
	*net.UnixListener
	uid    uint32
	logger *slog.Logger
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		cred, err := peerCred(c)
		if err == nil && (cred.Uid == l.uid || cred.Uid == 0) {
			return c, nil
		}
		if err != nil {
			l.logger.Warn("control connection refused: unknown peer", "error", err)
		} else {
			l.logger.Warn("control connection refused: peer runs as another user", "uid", cred.Uid, "pid", cred.Pid)
		}
		c.Close()
	}
}

func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err = errors.Join(err, credErr); err != nil {
		return nil, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return cred, nil
}

// isNotRunning reports whether err, from dialling the socket, means that no
// scheduler listens there.
func isNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
