package vrptw

import (
	"context"
	"testing"
)

func BenchmarkIterationsR101(b *testing.B) {
	in := load(b, "R101")
	b.ResetTimer()
	Solve(context.Background(), in, Options{Iterations: b.N, Seed: 1})
}
