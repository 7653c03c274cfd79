package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is a simulator served on a loopback port.
type Running struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234" (no trailing slash).
	URL string
	// Key is an API key the server accepts: the first WithKey, or DefaultKey.
	Key string
	// Server is the simulator, for inspecting the log, credits and faults.
	Server *Server

	addr  string // the listener's host:port
	srv   *http.Server
	done  chan error
	once  sync.Once
	close error // set once by Close
}

// Start serves a new simulator on addr ("" means 127.0.0.1:0, a free
// loopback port) until Close.
func Start(addr string, opts ...Option) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listen on %s: %w", addr, err)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	key := DefaultKey
	if len(cfg.keys) > 0 {
		key = cfg.keys[0].key
	}
	s := New(opts...)
	r := &Running{
		URL:    "http://" + ln.Addr().String(),
		Key:    key,
		Server: s,
		addr:   ln.Addr().String(),
		srv:    &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan error, 1),
	}
	go func() { r.done <- r.srv.Serve(ln) }()
	return r, nil
}

// Client returns an HTTP client for output downloads. It reaches this
// simulator for the stable CDN host that output URLs name under
// WithTaskSecret (URLs recorded by an earlier process then still work), and
// any other host as http.DefaultTransport would.
func (r *Running) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && host == cdnHost {
			addr = r.addr
		}
		return dial(ctx, network, addr)
	}
	tr.Proxy = nil // the stable host must never go to a proxy
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

// Close stops the server: it closes the listener and every open connection,
// which also ends slow answers still waiting on the clock. Calling it again
// returns the first result.
func (r *Running) Close() error {
	r.once.Do(func() {
		err := r.srv.Close()
		if serveErr := <-r.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			r.close = fmt.Errorf("sim: serve: %w", serveErr)
		} else if err != nil {
			r.close = fmt.Errorf("sim: close: %w", err)
		}
	})
	return r.close
}
