package cffake

import (
	"context"

	"github.com/changeproof/changeproof/internal/fakeapi"
)

// ListenAndServe serves s on addr (e.g. "127.0.0.1:0") until ctx is done,
// then shuts down gracefully and returns nil. Once the listener is bound it
// calls ready, if not nil, with the API base URL, e.g.
// "http://127.0.0.1:43121/client/v4"; an error from ready stops the server
// and is returned.
func ListenAndServe(ctx context.Context, addr string, s *Server, ready func(baseURL string) error) error {
	return fakeapi.ListenAndServe(ctx, "fake Cloudflare", addr, s, ready)
}
