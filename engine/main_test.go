package engine_test

import (
	"os"
	"testing"

	"adpilot/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.Main(m)) }
