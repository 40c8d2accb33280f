package parallel

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestMapKeepsOrderAndBoundsConcurrency(t *testing.T) {
	items := make([]int, 50)
	for i := range items {
		items[i] = i
	}
	var running, peak atomic.Int32
	out := Map(context.Background(), 4, items, func(_ context.Context, i int) int {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return i * i
	})
	for i, v := range out {
		if v != i*i {
			t.Fatalf("out[%d] = %d", i, v)
		}
	}
	if p := peak.Load(); p > 4 || p < 2 {
		t.Fatalf("peak concurrency %d, want 2..4", p)
	}
}

func TestMapStopsStartingWorkWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	Map(ctx, 1, make([]int, 100), func(context.Context, int) int {
		if calls.Add(1) == 3 {
			cancel()
		}
		return 1
	})
	if n := calls.Load(); n > 5 {
		t.Fatalf("%d calls after cancellation, want it to stop soon after 3", n)
	}
	if out := Map(context.Background(), 3, []int{}, func(context.Context, int) int { return 1 }); len(out) != 0 {
		t.Fatal("empty input")
	}
}
