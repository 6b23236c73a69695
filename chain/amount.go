package chain

import "fmt"

// FormatAGR shows base units as AGR, exactly, with all 9 decimals:
// "1.500000000".
func FormatAGR(v uint64) string {
	return fmt.Sprintf("%d.%09d", v/Unit, v%Unit)
}

// inAGR is an amount as messages give it: AGR with the unit, and the base
// units in brackets, "1.500000000 AGR (1500000000 base units)".
func inAGR(v uint64) string {
	if v == 1 {
		return FormatAGR(v) + " AGR (1 base unit)"
	}
	return fmt.Sprintf("%s AGR (%d base units)", FormatAGR(v), v)
}
