// Package protocol signs and verifies the HTTP requests between validators
// and miners, and the miners' responses, with Epistula v2 over ed25519
// (DESIGN.md section 5).
//
// # Wire format
//
// A signed message carries these headers:
//
//	Epistula-Version: 2
//	Epistula-Timestamp: 1767225600000             milliseconds since the epoch
//	Epistula-Uuid: 0b4c6f3e-1d2a-4f5b-9c8d-7e6f5a4b3c2d   lower-case UUID v4
//	Epistula-Signed-By: agora1…                   the signer's address
//	Epistula-Signed-For: agora1…                  the receiver's address
//	Epistula-Request-Signature: <128 hex>         ed25519 signature ("0x" prefix accepted)
//	Epistula-Body-Sha256: <64 hex>                Agora's extension, required on requests
//
// and the signature is over
//
//	hex(sha256(body)) + "." + uuid + "." + timestamp + "." + signed_for
//
// with the timestamp and signed_for exactly as sent. Signed-By is not in
// the message: the signature only verifies under the right key anyway.
//
// Requests must be signed for their receiver: a Verifier rejects an empty
// Signed-For, since a request signed for nobody could be relayed to any
// miner. Responses are signed the same way by the miner, for the requester
// (Signed-For is the validator's address, never empty) and echoing the
// request's uuid, so a validator keeps, for each request it signed, the
// miner's signed answer to it.
//
// Epistula-Body-Sha256 repeats the hash that the signed message starts
// with. Sign always sends it, and a Verifier requires it (400
// missing_header, before any body byte is read): it lets the signature be
// checked before the body is read, so a request that forges an allowed
// validator's address (addresses are public) is refused for one ed25519
// verification without reading its body. Accepting plain Epistula v2
// requests without it would mean reading and hashing up to MaxBody bytes
// from anyone who names a validator. Responses may omit it: the validator
// reads a response from a miner it chose to call, through its own limit.
//
// # Verification order
//
// Verifier.Verify lists the checks in order. In short: everything that
// needs only the headers (form, time window, receiver, allowed signer,
// replay, the body hash header and the signature over it) comes before
// any body byte is read; the body is read through a MaxBody+1 limit; the
// (signer, uuid) pair is recorded only after the signature has verified,
// with an atomic insert-if-absent, so exactly one of any number of
// concurrent copies of a request is accepted and nobody without the key can
// use a signer's uuid up.
//
// # Replay cache
//
// A uuid is remembered until its request's timestamp leaves the past
// window, in a bounded map sharded 64 ways that fails closed (503) when full
// rather than forget a live uuid. DESIGN.md suggested ristretto; replay.go
// explains why a cache that may drop or evict entries cannot back a replay
// check.
//
// # Errors
//
// Every rejection is an *Error with a Code naming the check, the HTTP
// status to answer with (400 malformed, 401 signature or time, 403 receiver
// or permission, 409 replay, 413 too large, 503 replay cache full) and a
// message that names the check and the values. Middleware answers with
// {"error":{"code":"…","message":"…"}}.
package protocol
