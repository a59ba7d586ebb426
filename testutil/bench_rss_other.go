//go:build !unix

package testutil

// maxRSS is unknown here.
func maxRSS() int64 { return 0 }
