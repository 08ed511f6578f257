package proccpu

import (
	"os"
	"testing"
	"time"
)

func TestOfThisProcessCountsItsWork(t *testing.T) {
	before, _ := Of(os.Getpid())
	deadline := time.Now().Add(100 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	after, _ := Of(os.Getpid())
	if after <= before {
		t.Fatalf("CPU time did not grow: %v then %v", before, after)
	}
	if s, c := Of(-1); s != 0 || c != 0 {
		t.Fatalf("no such process: %v %v", s, c)
	}
}
