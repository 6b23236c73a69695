package dashboard

// ring holds the newest epoch records, up to its capacity, each with its
// JSON. It is not safe for concurrent use (Dashboard.mu guards it).
type ring struct {
	recs []EpochRecord
	raw  [][]byte
	next int  // where the next record goes
	full bool // every slot holds a record
}

func newRing(capacity int) ring {
	return ring{recs: make([]EpochRecord, capacity), raw: make([][]byte, capacity)}
}

func (r *ring) cap() int { return len(r.recs) }

func (r *ring) len() int {
	if r.full {
		return len(r.recs)
	}
	return r.next
}

// add appends a record, dropping the oldest one if the ring is full.
func (r *ring) add(rec EpochRecord, raw []byte) {
	r.recs[r.next], r.raw[r.next] = rec, raw
	r.next++
	if r.next == len(r.recs) {
		r.next, r.full = 0, true
	}
}

// index returns the slot of the i-th oldest record.
func (r *ring) index(i int) int {
	if !r.full {
		return i
	}
	return (r.next + i) % len(r.recs)
}

// records returns the records, oldest first, in a new slice.
func (r *ring) records() []EpochRecord {
	out := make([]EpochRecord, r.len())
	for i := range out {
		out[i] = r.recs[r.index(i)]
	}
	return out
}

// newest returns the newest record's epoch index, 0 if there is none.
func (r *ring) newest() uint64 {
	n := r.len()
	if n == 0 {
		return 0
	}
	return r.recs[r.index(n-1)].Epoch
}

// since returns the JSON of the records whose epoch is above epoch,
// oldest first, and the newest epoch among them (epoch if none).
func (r *ring) since(epoch uint64) ([][]byte, uint64) {
	var out [][]byte
	newest := epoch
	for i := range r.len() {
		j := r.index(i)
		if e := r.recs[j].Epoch; e > epoch {
			out = append(out, r.raw[j])
			newest = max(newest, e)
		}
	}
	return out, newest
}
