package childproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The sandbox: every child is started with CLONE_NEWNET, so it lives in a
// network namespace of its own where only a loopback interface exists.
//
//   - No network (ffmpeg and ffprobe on local files): the program is
//     started directly in the new namespace, whose loopback is even down.
//   - The guarded proxy only (yt-dlp; ffprobe of a URL): this binary is
//     re-executed as a helper (argv[0] helperArg0, caught by init below)
//     in the new namespace. It brings loopback up, listens on the proxy's
//     own address (127.0.0.1:PORT: the namespace's loopback is empty, so the
//     port is free and the proxy URL the child is given stays the same),
//     forwards every connection to a Unix socket of the worker's, and runs
//     the program as its child. Unix sockets are files, so they cross
//     network namespaces; the worker side (relay) connects each one to the
//     proxy.
//
// As root, CLONE_NEWNET alone; otherwise an unprivileged user namespace too,
// mapping the worker's user to root inside (files written stay the
// worker's), where the kernel allows it.

// helperArg0 marks a re-execution of this binary as the sandbox helper.
const helperArg0 = "riptide-childproc-sandbox"

// helperFailed is the helper's exit code when it cannot set up.
const helperFailed = 125

func init() {
	if len(os.Args) > 0 && os.Args[0] == helperArg0 {
		os.Exit(helperMain(os.Args[1:]))
	}
}

// selfExe is this binary, as the kernel knows it (still there when the file
// was replaced on disk).
const selfExe = "/proc/self/exe"

// cloneAttr is the SysProcAttr probe found to work.
var cloneAttr atomic.Pointer[func() *syscall.SysProcAttr]

func netnsAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
}

func usernsAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
}

// probe finds how this process can start children in a network namespace
// of their own: it runs the helper's self-check (loopback up, no other
// interface) in one.
func probe() error {
	candidates := []func() *syscall.SysProcAttr{usernsAttr}
	if os.Geteuid() == 0 {
		candidates = []func() *syscall.SysProcAttr{netnsAttr, usernsAttr}
	}
	var errs []error
	for _, attr := range candidates {
		cmd := exec.Command(selfExe)
		cmd.Args = []string{helperArg0, "-probe"}
		cmd.Env = []string{"PATH=" + BasePath, "LANG=C.UTF-8"}
		cmd.SysProcAttr = attr()
		cmd.WaitDelay = time.Second
		done := make(chan struct{})
		timer := time.AfterFunc(10*time.Second, func() {
			select {
			case <-done:
			default:
				if cmd.Process != nil {
					_ = cmd.Process.Kill()
				}
			}
		})
		out, err := cmd.CombinedOutput()
		close(done)
		timer.Stop()
		if err == nil {
			cloneAttr.Store(&attr)
			return nil
		}
		errs = append(errs, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out))))
	}
	return fmt.Errorf("cannot create a network namespace: %w", errors.Join(errs...))
}

// confine makes cmd start in a network namespace of its own, reaching
// proxy only (none when "").
func confine(cmd *exec.Cmd, proxy string) error {
	if err := confineRefusal(); err != nil {
		return err
	}
	attr := (*cloneAttr.Load())()
	if proxy == "" {
		cmd.SysProcAttr = attr
		return nil
	}
	addr, err := proxyAddr(proxy)
	if err != nil {
		return err
	}
	sock, err := relayFor(addr)
	if err != nil {
		return fmt.Errorf("sandbox relay: %w", err)
	}
	args := append([]string{helperArg0, addr, sock, cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = selfExe, args
	cmd.SysProcAttr = attr
	return nil
}

var relays struct {
	mu    sync.Mutex
	socks map[string]string // proxy address -> Unix socket
}

// relayFor returns the Unix socket, in the process's private scratch
// directory, whose connections the process forwards to addr; it starts the
// relay on first use. Relays live as long as the process.
func relayFor(addr string) (string, error) {
	relays.mu.Lock()
	defer relays.mu.Unlock()
	if s, ok := relays.socks[addr]; ok {
		return s, nil
	}
	dir, err := scratchDir()
	if err != nil {
		return "", err
	}
	sock := filepath.Join(dir, fmt.Sprintf("proxy-%d.sock", len(relays.socks)))
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return "", err
	}
	go forwardAll(ln, "tcp", addr)
	if relays.socks == nil {
		relays.socks = map[string]string{}
	}
	relays.socks[addr] = sock
	return sock, nil
}

// forwardAll connects each connection ln accepts to network/addr.
func forwardAll(ln net.Listener, network, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go func() {
			up, err := net.DialTimeout(network, addr, 30*time.Second)
			if err != nil {
				c.Close()
				return
			}
			pipe(c, up)
		}()
	}
}

// pipe copies a to b and b to a until both directions end.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	half := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go half(a, b)
	go half(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// helperMain runs inside the new namespace: "-probe", or
// ADDR SOCKET PROGRAM ARGS...
func helperMain(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "riptide sandbox: "+format+"\n", a...)
		return helperFailed
	}
	// The program's parent-death signal belongs to this thread.
	runtime.LockOSThread()
	if err := loopbackUp(); err != nil {
		return fail("bringing loopback up: %v", err)
	}
	if len(args) == 1 && args[0] == "-probe" {
		ifs, err := net.Interfaces()
		if err != nil {
			return fail("listing interfaces: %v", err)
		}
		if len(ifs) != 1 || ifs[0].Flags&net.FlagLoopback == 0 {
			return fail("the namespace is not empty: %v", ifs)
		}
		return 0
	}
	if len(args) < 3 {
		return fail("usage: ADDR SOCKET PROGRAM [ARGS...]")
	}
	addr, sock, prog := args[0], args[1], args[2]
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail("listening on %s: %v", addr, err)
	}
	go forwardAll(ln, "unix", sock)

	cmd := exec.Command(prog, args[3:]...)
	cmd.Args[0] = prog
	cmd.Env = os.Environ() // the helper's own: exactly the child's (Env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Killing the helper (a cancelled job) kills the program.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		return fail("%v", err)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return fail("%v", err)
}

// loopbackUp sets the namespace's "lo" up (SIOCSIFFLAGS).
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: name[16], then a union (flags: short)
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := binary.NativeEndian.Uint16(ifr[16:])
	binary.NativeEndian.PutUint16(ifr[16:], flags|syscall.IFF_UP|syscall.IFF_RUNNING)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}
