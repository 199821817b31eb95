package telegram

import (
	"crypto/sha256"
	"encoding/binary"
)

// RandomID derives a message's random_id from what identifies one send in
// one run: typically the job name, the scheduled instant and the step's
// path inside the job. Telegram drops a second message with a random_id it
// has already seen from the same account, so a retry (after a lost
// connection, a failed attempt, or a restart that redelivers the run)
// never posts twice. The result is never 0.
func RandomID(parts ...string) int64 {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		// Length-prefixed, so ("ab","c") and ("a","bc") differ.
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	id := int64(binary.LittleEndian.Uint64(h.Sum(nil)))
	if id == 0 {
		id = 1
	}
	return id
}
