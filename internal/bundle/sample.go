package bundle

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
)

// sampleStream is the second word of the PCG seed: changeproof's samples
// are their own stream, so the same seed used elsewhere draws differently.
const sampleStream = 0x6368616e676570 // "changep"

// Sample draws size rows of a population CSV (header first, as
// WritePopulation writes it) at random: a partial Fisher–Yates shuffle
// driven by PCG (math/rand/v2) seeded with (seed, sampleStream). The same
// population and seed give the same sample on any machine. The rows keep
// their population order; size at or above the population's size takes
// every row. It returns the sample as CSV with the same header, and the
// population's size.
func Sample(population []byte, size int, seed uint64) ([]byte, int, error) {
	if size < 1 {
		return nil, 0, fmt.Errorf("sample size %d: must be at least 1", size)
	}
	r := csv.NewReader(bytes.NewReader(population))
	r.FieldsPerRecord = len(PopulationHeader)
	header, err := r.Read()
	if err == io.EOF {
		return nil, 0, fmt.Errorf("%s is empty: it has no header line", PopulationFile)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", PopulationFile, err)
	}
	if !slices.Equal(header, PopulationHeader) {
		return nil, 0, fmt.Errorf("%s: header %q, want %q", PopulationFile, header, PopulationHeader)
	}
	rows, err := r.ReadAll()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", PopulationFile, err)
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	n := min(size, len(rows))
	rng := rand.New(rand.NewPCG(seed, sampleStream))
	for i := range n {
		j := i + rng.IntN(len(idx)-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	picked := slices.Clone(idx[:n])
	slices.Sort(picked)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return nil, 0, err
	}
	for _, i := range picked {
		if err := w.Write(rows[i]); err != nil {
			return nil, 0, err
		}
	}
	w.Flush()
	return b.Bytes(), len(rows), w.Error()
}
