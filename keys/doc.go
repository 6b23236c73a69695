// Package keys holds Agora's account keys: ed25519 coldkeys and hotkeys,
// their printable addresses, the BIP-39 mnemonics that back them up, the
// encrypted keyfiles they live in, and the wallet layout on disk.
//
// A coldkey holds balance and owns hotkeys; a hotkey is a neuron's identity
// on a subnet (DESIGN.md section 3). Both are plain ed25519 keys; the
// difference is only how they are stored:
//
//	<home>/wallets/<wallet>/coldkey              always encrypted
//	<home>/wallets/<wallet>/hotkeys/<hotkey>     unencrypted (0600) by default, optionally encrypted
//
// Hotkeys are unencrypted by default because a miner or validator daemon
// must load its hotkey unattended after every restart, and a password
// kept next to the daemon for that purpose protects nothing the file mode
// does not. A hotkey cannot move funds: balance and stake belong to the
// coldkey, which stays encrypted and can stay on another machine.
//
// # Key derivation
//
// Every key comes from a 24-word BIP-39 English mnemonic (256 bits of
// entropy plus an 8-bit checksum) or, if asked for, a 12-word one (128
// bits plus 4). The ed25519 private key seed is the
// SLIP-0010 ed25519 master key of the BIP-39 seed:
//
//	seed64 = PBKDF2-HMAC-SHA512(password = mnemonic, salt = "mnemonic", 2048 iterations, 64 bytes)
//	I      = HMAC-SHA512(key = "ed25519 seed", data = seed64)
//	ed25519 seed = I[0:32]   (the SLIP-0010 private key at path "m")
//
// Both steps are published standards with official test vectors, so any
// BIP-39 + SLIP-0010 implementation (hardware wallets, other SDKs)
// reproduces the same key from the same words; the BIP-39 passphrase is
// always empty.
//
// # Addresses
//
// An address is the bech32m (BIP-350) encoding of the 32-byte public key
// with the human-readable prefix "agora", 64 characters in all, such as
// agora1…. Its checksum detects any error in up to 4 characters, the
// alphabet has no 1/b/i/o, and it is case-insensitive; the canonical form
// is lower case. ParseAddress rejects anything that is not exactly that.
//
// # Keyfiles
//
// A keyfile is a small versioned JSON document; see Keyfile for the
// format. Its public key and address are in clear so that listing needs no
// password; the secret (the 32-byte ed25519 seed) is sealed with
// XChaCha20-Poly1305 under a key stretched from the password by argon2id,
// with a random salt and nonce per file and the clear fields bound in as
// associated data. Files are written atomically with mode 0600 in
// directories of mode 0700.
package keys
