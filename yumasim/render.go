package yumasim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// FormatU16 formats a u16 proportion of 65535 as a decimal with four
// places, rounded half up with integer arithmetic: 0 → "0.0000", 32767 →
// "0.5000", 65535 → "1.0000".
func FormatU16(v uint16) string {
	q := (uint64(v)*20000 + 65535) / 131070 // round(v·10000/65535)
	return fmt.Sprintf("%d.%04d", q/10000, q%10000)
}

// formatMillionths formats a value in millionths (bonds_moving_average) as
// a decimal with six places.
func formatMillionths(v uint64) string {
	return fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// FlagsLegend explains the flags column of WriteTable's tables; it follows
// the first table.
const FlagsLegend = "flags: P = validator permit this epoch, A = active (last_update within activity_cutoff blocks), C = copying weights; - = not"

// WriteTable writes one text table per epoch of results: a header line with
// the block and the main hyperparameters, then a row per uid with its name,
// flags (P: validator permit this epoch, A: active, C: copying weights),
// stake share, consensus, incentive, dividends and validator trust as
// four-place decimals, and its emission in base units. FlagsLegend follows
// the first table. Every number is formatted from the integers the epoch
// computed. s gives the names.
func WriteTable(w io.Writer, s *Scenario, results []EpochResult) error {
	bw := bufio.NewWriter(w)
	for k, r := range results {
		if k > 0 {
			fmt.Fprintln(bw)
		}
		p := r.Params
		alpha := ""
		if p.Yuma3 && p.LiquidAlpha {
			alpha = fmt.Sprintf(" (%s..%s)", FormatU16(p.AlphaLow), FormatU16(p.AlphaHigh))
		}
		fmt.Fprintf(bw, "epoch %d  block %d  tempo %d  kappa %s  bonds_penalty %s  bonds_moving_average %s  yuma3 %s  liquid_alpha %s%s\n",
			r.Epoch, r.Block, p.Tempo, FormatU16(p.Kappa), FormatU16(p.BondsPenalty),
			formatMillionths(p.BondsMovingAverage), onOff(p.Yuma3), onOff(p.LiquidAlpha), alpha)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "uid\tname\tflags\tstake\tconsensus\tincentive\tdividends\tvtrust\temission\t\n")
		o := r.Output
		var total uint64
		for u := range s.N {
			flags := []byte("---")
			if r.Permits[u] {
				flags[0] = 'P'
			}
			if o.Active[u] {
				flags[1] = 'A'
			}
			if r.Copying[u] {
				flags[2] = 'C'
			}
			total += o.Emission[u]
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", u, s.Names[u], flags,
				FormatU16(o.StakeWeight[u]), FormatU16(o.Consensus[u]), FormatU16(o.Incentive[u]),
				FormatU16(o.Dividends[u]), FormatU16(o.ValidatorTrust[u]), o.Emission[u])
		}
		fmt.Fprintf(tw, "\ttotal\t\t\t\t\t\t\t%d\t\n", total)
		if err := tw.Flush(); err != nil {
			return err
		}
		if k == 0 {
			fmt.Fprintln(bw, FlagsLegend)
		}
	}
	return bw.Flush()
}

// WriteJSON writes the run as one JSON object, machine readable:
//
//	{"n": 5, "names": [...], "emission": 1000000000, "epochs": [EpochResult, ...]}
//
// with one epoch per line. EpochResult's fields are its JSON keys; the
// output's proportions are raw u16 (of 65535), emissions base units and
// bonds [uid, value] pairs, as consensus.Output encodes them.
func WriteJSON(w io.Writer, s *Scenario, results []EpochResult) error {
	bw := bufio.NewWriter(w)
	names, err := json.Marshal(s.Names)
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "{\"n\": %d, \"names\": %s, \"emission\": %d, \"epochs\": [", s.N, names, s.Emission)
	for k := range results {
		line, err := json.Marshal(&results[k])
		if err != nil {
			return fmt.Errorf("yumasim: encode epoch %d: %w", k, err)
		}
		if k > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(line)
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// xmlEscape escapes text for SVG character data and attributes.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// ftoa formats a coordinate with at most two decimals.
func ftoa(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}
