//go:build !race

package scoring

// ufRaceDetector says the test binary runs under the race detector, which
// makes the built-in model about 12 times slower.
const ufRaceDetector = false
