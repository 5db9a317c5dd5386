// Command pause is the test bed's pod sandbox process: PID 1 of every pod,
// which holds the pod's namespaces open while its containers come and go.
// It waits for SIGINT or SIGTERM and exits 0; meanwhile, as the PID namespace's
// init, it reaps the zombies of orphaned processes so they do not pile up.
//
// The bed builds it instead of pulling registry.k8s.io/pause, which its
// machines cannot reach.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every child that has exited. Signals coalesce, so one SIGCHLD
// may stand for several children: loop until none is left to collect.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
