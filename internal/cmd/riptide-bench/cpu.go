package main

import (
	"syscall"
	"time"

	"github.com/riptide-dev/riptide/internal/proccpu"
)

// cpuUse is the CPU time (user + system) each part of the stack has used.
// On a 2-core machine CPU is what bounds tiny jobs, so where it goes says
// what to tune.
type cpuUse struct {
	Temporal, S3 time.Duration
	// Worker is the worker process itself; Tools the ffmpeg, ffprobe and
	// yt-dlp processes it ran (counted once they exit).
	Worker, Tools time.Duration
	// Bench is this process: the API, the load-generating clients and the
	// baseline's in-process worker.
	Bench time.Duration
}

func (c cpuUse) sub(d cpuUse) cpuUse {
	return cpuUse{c.Temporal - d.Temporal, c.S3 - d.S3, c.Worker - d.Worker, c.Tools - d.Tools, c.Bench - d.Bench}
}

func (c cpuUse) total() time.Duration { return c.Temporal + c.S3 + c.Worker + c.Tools + c.Bench }

// perItem divides every figure by n.
func (c cpuUse) perItem(n int) cpuUse {
	d := time.Duration(max(n, 1))
	return cpuUse{c.Temporal / d, c.S3 / d, c.Worker / d, c.Tools / d, c.Bench / d}
}

// cpu samples the stack's CPU use; w may be nil.
func (st *stack) cpu(w *workerProc) cpuUse {
	var c cpuUse
	c.Temporal, _ = proccpu.Of(st.temporalProc.Pid())
	c.S3, _ = proccpu.Of(st.s3Proc.Pid())
	if w != nil {
		c.Worker, c.Tools = proccpu.Of(w.Pid())
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.Bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return c
}
