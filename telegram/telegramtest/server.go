// Package telegramtest runs a real MTProto server on loopback for tests: a
// small, scriptable Telegram built on gotd's tgtest.
//
// The server speaks the same protocol as Telegram (key exchange, encrypted
// sessions, RPC results and errors), keeps a tiny world of users, groups and
// channels, records what clients post, and can inject the failures a client
// must survive: FLOOD_WAIT and other RPC errors, slow answers, dropped
// connections and whole outages (Stop, then Start on the same port).
//
// A test of a program that connects by itself (scheduler run) writes the
// server's key with WritePublicKey and points the program's config at Addr.
// To spare the program its key exchange (half a second of CPU, seconds
// under -race), write the bytes of Session(ctx, appID, botToken) to its
// session file (mode 0600) first.
//
// Only tests should import this package: gotd's tgtest pulls package testing
// into any binary that links it.
package telegramtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgtest"
	"github.com/gotd/td/transport"
)

// Clock is the server's source of time for recorded timestamps. Tests that
// check pacing pass the same fake clock they give the client.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Server.
type Options struct {
	// Addr is the TCP address to listen on; default "127.0.0.1:0" (a free
	// port, which Start reuses after a Stop).
	Addr string
	// DC is the data center ID the server claims; default 2.
	DC int
}

// Server is an in-process MTProto server. Its methods are safe for
// concurrent use.
type Server struct {
	dc  int
	key *rsa.PrivateKey
	srv *tgtest.Server

	addr atomic.Pointer[string] // read by handlers, so not under lmu

	lmu      sync.Mutex // guards the listener state below
	listener *prefetchListener
	cancel   context.CancelFunc
	served   chan struct{}

	mu sync.Mutex // guards the world and the records
	world
	records
}

// New generates a fresh 2048-bit RSA key, starts the server and returns it.
// Close it when done.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DC == 0 {
		opts.DC = 2
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("telegramtest: generate RSA key: %w", err)
	}
	s := &Server{dc: opts.DC, key: key}
	s.addr.Store(&opts.Addr)
	s.world.init()
	s.records.init()
	s.srv = tgtest.NewServer(tgtest.NewPrivateKey(key), tgtest.UnpackInvoke(tgtest.HandlerFunc(s.handle)), tgtest.ServerOptions{
		DC: opts.DC,
		// The default 30 s read timeout is shorter than gotd's 60 s ping
		// interval: idle clients would be dropped.
		ReadTimeout:  time.Hour,
		WriteTimeout: 30 * time.Second,
	})
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the host:port the server listens on (also while stopped).
func (s *Server) Addr() string { return *s.addr.Load() }

// DC returns the server's data center ID.
func (s *Server) DC() int { return s.dc }

// PublicKey returns the server's RSA public key, which clients need to
// trust it.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// PublicKeyPEM returns the public key as a PKCS #1 "RSA PUBLIC KEY" PEM
// block, the format Telegram publishes its keys in.
func (s *Server) PublicKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&s.key.PublicKey)})
}

// WritePublicKey writes PublicKeyPEM to path (mode 0644), for configs that
// name a public_key_file.
func (s *Server) WritePublicKey(path string) error {
	return os.WriteFile(path, s.PublicKeyPEM(), 0o644)
}

// Start listens on the server's address again after a Stop. Starting a
// running server does nothing.
func (s *Server) Start() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.Addr())
	if err != nil {
		return fmt.Errorf("telegramtest: listen: %w", err)
	}
	addr := l.Addr().String()
	s.addr.Store(&addr)
	pl := newPrefetchListener(l)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.srv.Serve(ctx, transport.ListenCodec(nil, pl))
	}()
	s.listener, s.cancel, s.served = pl, cancel, served
	return nil
}

// Stop closes the listener and every open connection, as a crashed or
// unreachable server would look to its clients. Auth keys, logins and the
// world survive for the next Start.
func (s *Server) Stop() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.listener == nil {
		return
	}
	s.listener.Close()
	s.cancel()
	<-s.served
	s.listener, s.cancel, s.served = nil, nil, nil
}

// Close stops the server for good.
func (s *Server) Close() { s.Stop() }

// DropConnections closes every open client connection but keeps listening:
// a network blip that clients reconnect through at once.
func (s *Server) DropConnections() {
	s.lmu.Lock()
	l := s.listener
	s.lmu.Unlock()
	if l != nil {
		l.closeConns()
	}
}

// config is the answer to help.getConfig. It must list the server's own
// address: after connecting, gotd replaces its DC list with this one.
func (s *Server) config() *tg.Config {
	host, portStr, _ := net.SplitHostPort(s.Addr())
	port, _ := strconv.Atoi(portStr)
	now := int(time.Now().Unix())
	return &tg.Config{
		Date:    now,
		Expires: now + 3600,
		ThisDC:  s.dc,
		DCOptions: []tg.DCOption{{
			ID:        s.dc,
			IPAddress: host,
			Port:      port,
			Static:    true,
		}},
		WebfileDCID: s.dc,
	}
}

// prefetchListener hands a connection to tgtest only once the client has
// sent its transport header. tgtest reads that header inside Accept and
// stops serving altogether if it fails, so a client that connects and
// vanishes (as clients do during the outages tests provoke) must never
// reach it. It also tracks connections so Stop can close them.
type prefetchListener struct {
	net.Listener
	ready chan net.Conn
	done  chan struct{}

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

// headerLen is what gotd's default transport (intermediate) sends first.
const headerLen = 4

func newPrefetchListener(l net.Listener) *prefetchListener {
	pl := &prefetchListener{
		Listener: l,
		ready:    make(chan net.Conn),
		done:     make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
	go pl.acceptLoop()
	return pl
}

func (l *prefetchListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return
		}
		if !l.track(c) {
			_ = c.Close()
			return
		}
		go l.prefetch(c)
	}
}

func (l *prefetchListener) prefetch(c net.Conn) {
	var head [headerLen]byte
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, head[:]); err != nil {
		l.untrack(c)
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: head[:], l: l}
	select {
	case l.ready <- pc:
	case <-l.done:
		_ = pc.Close()
	}
}

func (l *prefetchListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes every tracked connection.
func (l *prefetchListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	err := l.Listener.Close()
	l.closeConns()
	return err
}

func (l *prefetchListener) closeConns() {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (l *prefetchListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *prefetchListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// prefixConn replays the prefetched header before reading the socket.
type prefixConn struct {
	net.Conn
	prefix []byte
	l      *prefetchListener
	once   sync.Once
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

func (c *prefixConn) Close() error {
	c.once.Do(func() { c.l.untrack(c.Conn) })
	return c.Conn.Close()
}
