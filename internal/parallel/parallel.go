// Package parallel runs work over a slice with bounded concurrency, keeping
// results in input order so collectors stay deterministic.
package parallel

import (
	"context"
	"sync"
)

// Map calls fn for each item with at most n calls at once and returns the
// results in the order of items. Once ctx is done no new call starts; the
// results of items never started are zero values, and the caller decides
// what an interrupted collection means (ctx.Err()).
func Map[T, R any](ctx context.Context, n int, items []T, fn func(context.Context, T) R) []R {
	out := make([]R, len(items))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(max(n, 1), len(items)) {
		wg.Go(func() {
			for i := range work {
				out[i] = fn(ctx, items[i])
			}
		})
	}
feed:
	for i := range items {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return out
}
