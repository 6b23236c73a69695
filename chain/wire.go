package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// sprintf is fmt.Sprintf; a name of its own keeps reject's call sites short.
var sprintf = fmt.Sprintf

// enc appends the fixed binary layout every record and transaction body
// uses: big-endian integers, length-prefixed byte strings. It is the only
// encoding that feeds the app hash, so it never changes for a given value.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) i16(v int16)  { e.u16(uint16(v)) }
func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *enc) id(v AccountID) { e.b = append(e.b, v[:]...) }
func (e *enc) bytes(v []byte) {
	e.u32(uint32(len(v)))
	e.b = append(e.b, v...)
}

// u16s writes a u32 count, then each element.
func (e *enc) u16s(v []uint16) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.u16(x)
	}
}

// errShort is returned by dec when the input ends early.
var errShort = errors.New("input ends early")

// dec reads what enc wrote. The first failure sticks: check err once at
// the end.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// u16s reads what enc.u16s wrote; an empty list decodes as nil.
func (d *dec) u16s() []uint16 {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if uint64(n)*2 > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	if n == 0 {
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = d.u16()
	}
	return v
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
func (d *dec) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
func (d *dec) i16() int16 { return int16(d.u16()) }
func (d *dec) bool() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.err = fmt.Errorf("boolean byte %d is neither 0 nor 1", v)
		}
		return false
	}
}
func (d *dec) id() (a AccountID) {
	copy(a[:], d.take(len(a)))
	return a
}

// bytes reads a length-prefixed string of at most max bytes.
func (d *dec) bytes(max int) []byte {
	n := d.u32()
	if d.err == nil && int64(n) > int64(max) {
		d.err = fmt.Errorf("length %d exceeds %d", n, max)
		return nil
	}
	return d.take(int(n))
}

// done reports the first error, or trailing bytes.
func (d *dec) done() error {
	if d.err == nil && len(d.b) > 0 {
		return fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}
