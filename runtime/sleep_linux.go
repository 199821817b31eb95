package runtime

import (
	"errors"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sleepThread sleeps d on the calling thread: a nanosleep, which the
// thread's own timer ends, rather than a Go timer, which another thread
// runs and which then has to wake this one (see standby.go).
func sleepThread(d time.Duration) {
	if d <= 0 {
		return
	}
	req := syscall.NsecToTimespec(int64(d))
	for {
		var left syscall.Timespec
		err := syscall.Nanosleep(&req, &left)
		if !errors.Is(err, syscall.EINTR) {
			return
		}
		req = left
	}
}

// currentCPU returns the CPU the calling thread runs on, or -1 if unknown.
func currentCPU() int {
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return -1
	}
	return int(cpu)
}

// leaveCPU moves the calling thread off cpu, to another of the CPUs it may
// run on, if there is one; it may then run on cpu again. Where the call is
// refused (the systemd unit's system call filter denies @resources), the
// thread stays where it is.
func leaveCPU(cpu int) {
	var allowed unix.CPUSet
	if unix.SchedGetaffinity(0, &allowed) != nil || allowed.Count() < 2 || !allowed.IsSet(cpu) {
		return
	}
	others := allowed
	others.Clear(cpu)
	// Setting the mask moves the thread at once; restoring it does not
	// move it back.
	if unix.SchedSetaffinity(0, &others) == nil {
		unix.SchedSetaffinity(0, &allowed)
	}
}
