//go:build !linux

package runtime

import "time"

// sleepThread sleeps d. Off Linux it is time.Sleep; the stand-by (see
// standby.go) was measured on Linux only.
func sleepThread(d time.Duration) { time.Sleep(d) }

// currentCPU returns -1: off Linux the CPU of a thread is not looked up.
func currentCPU() int { return -1 }

// leaveCPU does nothing off Linux.
func leaveCPU(cpu int) {}
