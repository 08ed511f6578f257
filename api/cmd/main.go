// Command riptide-api serves riptide's HTTP API (README: API).
//
// "riptide-api hash-key" reads an API key from its standard input and
// prints the digest the tenants file takes (README: Tenants and keys).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/riptide-dev/riptide/api"
	"github.com/riptide-dev/riptide/internal/app"
	"github.com/riptide-dev/riptide/internal/tenants"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "hash-key" {
		os.Exit(hashKey())
	}
	app.Main("API", api.CheckConfig, api.Serve)
}

const usage = "usage: printf '%" + "s' \"$KEY\" | riptide-api hash-key (reads the key from standard input)"

// hashKey reads the key from stdin (not an argument, which would land in
// the shell's history and the process list).
func hashKey() int {
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	key := strings.TrimSpace(line)
	if key == "" {
		_, _ = os.Stderr.WriteString(usage + "\n")
		return 2
	}
	fmt.Println(tenants.HashKey(key))
	return 0
}
