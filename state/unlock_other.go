//go:build windows || plan9 || solaris || aix || android

package state

import "os"

// unlock is a no-op where bbolt locks with something other than flock;
// closing the file is then all the store can do.
func unlock(*os.File) error { return nil }
