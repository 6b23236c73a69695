package weights

import (
	"crypto/sha256"
	"encoding/binary"
)

// CommitDomain separates commit hashes from every other SHA-256 use in Agora.
// It is the first field of the commit preimage; a change to the encoding gets
// a new version suffix.
const CommitDomain = "agora/weights-commit/v1"

// CommitHash is the hash a validator commits to before revealing a weight
// vector: SHA-256 over the preimage below, with every integer big-endian and
// every variable-length field prefixed by its element count as a uint64:
//
//	u64 len(CommitDomain) ‖ CommitDomain (bytes)
//	u64 len(hotkey)       ‖ hotkey (bytes)
//	u16 netuid
//	u64 len(uids)         ‖ uids   (u16 each)
//	u64 len(values)       ‖ values (u16 each)
//	u64 len(salt)         ‖ salt   (u16 each)
//	u64 versionKey
//
// Each field is fixed-size or count-prefixed, so two different inputs never
// share a preimage. The values are the ones the validator will reveal (before
// max-upscaling), as in subtensor's commit-reveal, whose hash covers the same
// fields (there with BLAKE2-256 over SCALE). The salt is chosen by the caller
// and should be random and secret until the reveal; CommitHash draws none.
func CommitHash(hotkey []byte, netuid uint16, uids, values, salt []uint16, versionKey uint64) [32]byte {
	return commitHash(CommitDomain, hotkey, netuid, nil, uids, values, salt, versionKey)
}

// CommitMechanismDomain is CommitDomain's counterpart for the commits of a
// subnet's mechanisms 1 and up.
const CommitMechanismDomain = "agora/weights-commit-mechanism/v1"

// CommitHashMechanism is CommitHash for weights on one of a subnet's
// incentive mechanisms. For mechanism 0 it is CommitHash exactly, so a
// subnet with one mechanism commits as before. For mechanism m >= 1 the
// preimage starts with CommitMechanismDomain instead of CommitDomain and
// has a u8 m right after the netuid:
//
//	u64 len(CommitMechanismDomain) ‖ CommitMechanismDomain
//	u64 len(hotkey) ‖ hotkey
//	u16 netuid
//	u8  mechanism
//	... uids, values, salt and versionKey as in CommitHash
//
// so a commit binds its mechanism and cannot be revealed on another one.
// Subtensor binds it the same way by hashing the storage index netuid +
// mechanism·4096; the domain and the explicit byte do it without bounding
// the netuid.
func CommitHashMechanism(hotkey []byte, netuid uint16, mechanism uint8, uids, values, salt []uint16, versionKey uint64) [32]byte {
	if mechanism == 0 {
		return CommitHash(hotkey, netuid, uids, values, salt, versionKey)
	}
	return commitHash(CommitMechanismDomain, hotkey, netuid, &mechanism, uids, values, salt, versionKey)
}

// commitHash hashes the preimage CommitHash describes under domain, with
// the mechanism byte after the netuid when mechanism is not nil.
func commitHash(domain string, hotkey []byte, netuid uint16, mechanism *uint8, uids, values, salt []uint16, versionKey uint64) [32]byte {
	size := 8 + len(domain) + 8 + len(hotkey) + 2 + 1 + 3*8 + 2*(len(uids)+len(values)+len(salt)) + 8
	b := make([]byte, 0, size)
	b = binary.BigEndian.AppendUint64(b, uint64(len(domain)))
	b = append(b, domain...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(hotkey)))
	b = append(b, hotkey...)
	b = binary.BigEndian.AppendUint16(b, netuid)
	if mechanism != nil {
		b = append(b, *mechanism)
	}
	b = appendU16s(b, uids)
	b = appendU16s(b, values)
	b = appendU16s(b, salt)
	b = binary.BigEndian.AppendUint64(b, versionKey)
	return sha256.Sum256(b)
}

// appendU16s appends the element count of v as a uint64, then each element.
func appendU16s(b []byte, v []uint16) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}
