//go:build !unix

package devserver

import (
	"os"
	"os/exec"
)

// ownGroup is a no-op where process groups are not available.
func ownGroup(*exec.Cmd) {}

// signalGroup asks the process to stop (interrupt, where supported).
func signalGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(os.Interrupt)
}

// killGroup kills the process.
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
