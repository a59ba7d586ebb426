//go:build unix

package testutil

import (
	"runtime"
	"syscall"
)

// maxRSS is the process's peak resident set size in KiB, 0 if unknown.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return ru.Maxrss / 1024 // bytes there
	}
	return ru.Maxrss
}
