//go:build !race

package localnet

// raceDetector says the test binary runs under the race detector, which
// makes the built-in model several times slower.
const raceDetector = false
