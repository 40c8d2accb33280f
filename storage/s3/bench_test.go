package s3store

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/changeproof/changeproof/internal/versitygw"
	"github.com/changeproof/changeproof/storage"
)

// BenchmarkPut measures create-only, checksummed, Object-Locked writes of
// 4 KiB envelopes to a local versitygw, one writer at a time and 16 at once;
// it reports envelopes per second. It measures the client and a local
// server, not a network: against AWS or R2 the round trip dominates.
func BenchmarkPut(b *testing.B) {
	srv := versitygw.Start(b)
	awsEnv(b, srv)
	srv.CreateBucket(b, "bench", true)
	st, err := Open(context.Background(), s3URL(srv, "bench", "evidence"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4<<10)
	_, _ = rand.Read(data)
	var seq atomic.Int64
	key := func(run string) string {
		return fmt.Sprintf("bench/%s/2026/11/23/%09d.json", run, seq.Add(1))
	}
	b.Run("4KiB", func(b *testing.B) {
		ctx := context.Background()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := st.Put(ctx, key("serial"), data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
	})
	b.Run("4KiB-16writers", func(b *testing.B) {
		ctx := context.Background()
		b.SetBytes(int64(len(data)))
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // about 16 goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := st.Put(ctx, key("parallel"), data); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
	})
}
