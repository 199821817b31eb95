package telegramtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"

	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"
)

// dhPrime is Telegram's 2048-bit safe prime (the one its key exchange and
// 2FA use); clients verify it, so it must be a real safe prime.
var dhPrime, _ = new(big.Int).SetString(""+
	"C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"+
	"48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"+
	"20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"+
	"2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"+
	"A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"+
	"FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"+
	"E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"+
	"0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B", 16)

// srpVerifier is the server side of Telegram's 2FA check
// (https://core.telegram.org/api/srp): it stores v = g^x, never the
// password.
type srpVerifier struct {
	algo tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
	v    *big.Int
}

type srpRound struct {
	b *big.Int
	B []byte // 256 bytes
}

func newSRPVerifier(password string) (*srpVerifier, error) {
	salt1, salt2 := make([]byte, 8), make([]byte, 16)
	_, _ = rand.Read(salt1)
	_, _ = rand.Read(salt2)
	algo := tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow{
		Salt1: salt1, Salt2: salt2, G: 3, P: pad256(dhPrime),
	}
	// NewPasswordHash computes v exactly as a client setting the password
	// would, extending Salt1 with client randomness.
	v, err := auth.NewPasswordHash([]byte(password), &algo)
	if err != nil {
		return nil, fmt.Errorf("telegramtest: 2FA verifier: %w", err)
	}
	return &srpVerifier{algo: algo, v: new(big.Int).SetBytes(v)}, nil
}

func sha(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func pad256(x *big.Int) []byte {
	b := make([]byte, 256)
	return x.FillBytes(b)
}

func (s *srpVerifier) g() *big.Int { return big.NewInt(int64(s.algo.G)) }

// k = H(p | g), as the client computes it.
func (s *srpVerifier) k() *big.Int {
	return new(big.Int).SetBytes(sha(s.algo.P, pad256(s.g())))
}

// challenge picks the server secret b and B = k·v + g^b mod p.
func (s *srpVerifier) challenge() (*srpRound, error) {
	raw := make([]byte, 256)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	b := new(big.Int).SetBytes(raw)
	gb := new(big.Int).Exp(s.g(), b, dhPrime)
	kv := new(big.Int).Mul(s.k(), s.v)
	B := new(big.Int).Add(kv, gb)
	B.Mod(B, dhPrime)
	return &srpRound{b: b, B: pad256(B)}, nil
}

// verify checks the client's proof M1 for its public value A.
func (s *srpVerifier) verify(r *srpRound, aBytes, m1 []byte) bool {
	A := new(big.Int).SetBytes(aBytes)
	if A.Sign() <= 0 || A.Cmp(dhPrime) >= 0 {
		return false
	}
	Apad := pad256(A)
	u := new(big.Int).SetBytes(sha(Apad, r.B))
	// S = (A · v^u)^b mod p
	S := new(big.Int).Exp(s.v, u, dhPrime)
	S.Mul(S, A).Mod(S, dhPrime)
	S.Exp(S, r.b, dhPrime)
	K := sha(pad256(S))
	hp, hg := sha(s.algo.P), sha(pad256(s.g()))
	x := make([]byte, len(hp))
	for i := range x {
		x[i] = hp[i] ^ hg[i]
	}
	want := sha(x, sha(s.algo.Salt1), sha(s.algo.Salt2), Apad, r.B, K)
	return subtle.ConstantTimeCompare(want, m1) == 1
}
