package cffake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may finish on shutdown.
const shutdownTimeout = 5 * time.Second

// ListenAndServe serves s on addr (e.g. "127.0.0.1:0") until ctx is done,
// then shuts down gracefully and returns nil. Once the listener is bound it
// calls ready, if not nil, with the API base URL, e.g.
// "http://127.0.0.1:43121/client/v4"; an error from ready stops the server
// and is returned.
func ListenAndServe(ctx context.Context, addr string, s *Server, ready func(baseURL string) error) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("fake Cloudflare: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if ready != nil {
		if err := ready(s.URL("http://" + ln.Addr().String())); err != nil {
			_ = srv.Close()
			<-served
			return err
		}
	}
	select {
	case err := <-served:
		return fmt.Errorf("fake Cloudflare: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("fake Cloudflare: shutting down: %w", err)
	}
	return nil
}
