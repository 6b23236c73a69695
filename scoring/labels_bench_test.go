//go:build !race

// Benchmarks under the race detector measure the detector; and one of
// these uses the label-market simulation, which builds without it.

package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLabelQuality times AssessLabels (labeler qualities, miner scores and both alphas)
// over simulated labels: 5 labels per item from 14 labelers of 7 miners, at the validator's
// window of 4096 observations and above; and over the attack market "clickers" (10 miners,
// one with 5 labelers copying each other, 4–6 miners per item) at about 4096.
func BenchmarkLabelQuality(b *testing.B) {
	type input struct {
		name string
		obs  []LabelObs
	}
	var inputs []input
	for _, n := range []int{4096, 10_000} {
		obs, _ := simulateLabels(rand.New(rand.NewPCG(1, 1)), labelSim{items: n / 5, perItem: 5})
		inputs = append(inputs, input{fmt.Sprintf("labels=%d", len(obs)), obs})
	}
	market := simulateMarket(rand.New(rand.NewPCG(1, 1)), attackScenarios()["clickers"], 700)
	inputs = append(inputs, input{fmt.Sprintf("market=clickers/labels=%d", len(market)), market})
	for _, in := range inputs {
		obs := in.obs
		b.Run(in.name, func(b *testing.B) {
			opts := DefaultLabelOptions()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := AssessLabels(obs, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(obs)), "ns/label")
		})
	}
}

// BenchmarkLabelAlpha times the ordinal Krippendorff alpha alone over the same labels.
func BenchmarkLabelAlpha(b *testing.B) {
	obs, _ := simulateLabels(rand.New(rand.NewPCG(1, 1)), labelSim{items: 2000, perItem: 5})
	b.Run(fmt.Sprintf("labels=%d", len(obs)), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := LabelAlpha(obs, AlphaOrdinal); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(obs)), "ns/label")
	})
}
