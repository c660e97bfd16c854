package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// A browser launched for a measurement does work of its own in its first
// seconds: Chromium 156's new headless mode is the whole browser, and it
// starts the renderers of its own user interface (the omnibox popup's
// WebUI), about a second of CPU on this 2-core machine. A page opened at
// once shares the cores with that; a person's browser did it long before
// they clicked a link. So the headline cold start waits for the browser
// to be idle first (nothing cached, a fresh profile), and the bench
// reports the visit in a browser just launched beside it.

// idleWindow is how long the browser's processes must stay under
// idleCPU of CPU time for the browser to be idle; idleMax bounds the wait.
const (
	idleWindow = 500 * time.Millisecond
	idleCPU    = 25 * time.Millisecond // 5 % of one core
	idleMax    = 20 * time.Second
	// idleFallback is the wait where the CPU time cannot be read.
	idleFallback = 5 * time.Second
)

// waitIdle is the prelude that waits until the browser of profile is
// idle (see browserCPU): at least one idleWindow, at most idleMax, after
// which it goes on and says so in the log.
func waitIdle(ctx context.Context, profile string) error {
	deadline := time.Now().Add(idleMax)
	prev, err := browserCPU(profile)
	if err != nil {
		// No /proc (not Linux): a fixed wait, longer than the busy start seen here.
		logf("  %v; waiting %s instead", err, idleFallback)
		return sleep(ctx, idleFallback)
	}
	for {
		if err := sleep(ctx, idleWindow); err != nil {
			return err
		}
		cur, err := browserCPU(profile)
		if err != nil {
			return err
		}
		if cur-prev < idleCPU {
			return nil
		}
		if time.Now().After(deadline) {
			logf("  the browser was still busy after %s (%s of CPU in the last %s); measuring anyway", idleMax, cur-prev, idleWindow)
			return nil
		}
		prev = cur
	}
}

// sleep waits for d, or until ctx ends (then it returns ctx's error).
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// browserCPU is the CPU time (user + system) that the processes of the
// browser whose profile directory is profile have used so far: every
// process whose command line names the directory (Chromium passes
// --user-data-dir to each of its processes). Linux only (/proc).
func browserCPU(profile string) (time.Duration, error) {
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil || len(procs) == 0 {
		return 0, fmt.Errorf("bench: cannot see the browser's CPU time (no /proc): %v", err)
	}
	mark := []byte("--user-data-dir=" + profile + "\x00")
	var ticks int64
	for _, p := range procs {
		cmd, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || !bytes.Contains(cmd, mark) {
			continue // gone, or not this browser's
		}
		stat, err := os.ReadFile(filepath.Join(p, "stat"))
		if err != nil {
			continue
		}
		t, ok := statTicks(stat)
		if ok {
			ticks += t
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ: 100 on
// every Linux that the bench runs on).
const clockTicks = 100

// statTicks is utime + stime from the text of /proc/PID/stat: fields 14
// and 15, counted after the command name's closing parenthesis (the name
// may contain spaces and parentheses).
func statTicks(stat []byte) (int64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}
