package file

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/changeproof/changeproof/storage"
)

// BenchmarkPut measures create-only writes (temp file, fsync, link, directory
// fsync) of evidence-sized objects.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			st, err := Open(context.Background(), b.TempDir(), storage.Options{})
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, size)
			_, _ = rand.Read(data)
			ctx := context.Background()
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				if err := st.Put(ctx, fmt.Sprintf("evidence/bench/2026/11/23/%09d.json", i), data); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}
