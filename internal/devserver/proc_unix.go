//go:build unix

package devserver

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in a new process group, so that the terminal's Ctrl-C
// reaches only the dev server, which stops the group itself, and so that
// stopping the group also stops whatever the process started.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGTERM to the process group led by pid.
func signalGroup(pid int) error {
	return ignoreGone(syscall.Kill(-pid, syscall.SIGTERM))
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) error {
	return ignoreGone(syscall.Kill(-pid, syscall.SIGKILL))
}

func ignoreGone(err error) error {
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
