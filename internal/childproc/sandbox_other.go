//go:build !linux

package childproc

import (
	"errors"
	"os/exec"
)

// probe: network namespaces are Linux's.
func probe() error { return errors.New("network namespaces need Linux") }

func confine(cmd *exec.Cmd, proxy string) error { return confineRefusal() }
