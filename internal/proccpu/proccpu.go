// Package proccpu reads processes' CPU time from /proc, for the
// benchmarks' per-process CPU figures.
package proccpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Of reads a process's own and its reaped children's CPU time from
// /proc/<pid>/stat; zeros when it cannot.
func Of(pid int) (self, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime, stime, cutime, cstime are fields 14–17.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * time.Second / clockTicks
	}
	return tick(11) + tick(12), tick(13) + tick(14)
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100
