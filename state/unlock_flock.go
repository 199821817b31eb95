//go:build !windows && !plan9 && !solaris && !aix && !android

package state

import (
	"os"
	"syscall"
)

// unlock releases the lock bbolt took with flock. Closing the file alone
// would not: bbolt's memory map holds a reference to the open file, and the
// kernel drops the lock only with the last reference.
func unlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
