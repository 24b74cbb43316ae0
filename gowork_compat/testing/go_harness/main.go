// Command gowork-harness drives the real github.com/gocraft/work (v0.5.1, pinned in
// go.mod) so that the Python side can be tested against it. Protocol output goes to
// stdout, one compact JSON object per line, flushed at once; everything else (including
// gocraft/work's own "ERROR: ..." lines, which it prints with fmt.Printf) goes to stderr.
//
//	gowork-harness enqueue -redis HOST:PORT -ns NS                  requests on stdin, one reply each
//	gowork-harness enqueue -redis HOST:PORT -ns NS -bench N -names a,b [-args JSON] [-bench-concurrency K]
//	gowork-harness worker  -redis HOST:PORT -ns NS -config JSON|@FILE
//	gowork-harness client  -redis HOST:PORT -ns NS -op OP [-args JSON]
//	gowork-harness json                                             requests on stdin, one reply each
//	gowork-harness webui   -redis HOST:PORT -ns NS -addr HOST:PORT
//
// The request and reply shapes are documented next to each subcommand (enqueue.go,
// worker.go, client.go, jsonops.go, webui.go). Exit status: 0 when the work was done
// (errors of gocraft/work calls are reported in the reply), 1 on usage or config errors.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
)

// protocol is the process's real stdout, captured before main points os.Stdout at stderr.
var (
	protocol   = bufio.NewWriterSize(os.Stdout, 1<<16)
	protocolMu sync.Mutex
)

// emit writes v as one JSON line on the protocol stream and flushes it.
func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "harness: cannot marshal reply: " + err.Error()})
	}
	protocolMu.Lock()
	defer protocolMu.Unlock()
	protocol.Write(b)
	protocol.WriteByte('\n')
	protocol.Flush()
}

// fail reports a usage or configuration error on stderr and exits 1.
func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gowork-harness: "+format+"\n", args...)
	os.Exit(1)
}

// newPool is a redigo pool that survives a Redis restart: connections idle for more than a
// second are PINGed before use, so dead ones are dropped and redialled.
func newPool(addr string) *redis.Pool {
	return &redis.Pool{
		MaxActive:   50,
		MaxIdle:     50,
		Wait:        true,
		IdleTimeout: 240 * time.Second,
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr)
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if time.Since(t) < time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// namespacePrefix is what gocraft/work puts in front of every key: the namespace plus a
// colon, unless the namespace is empty or already ends in one.
func namespacePrefix(ns string) string {
	if ns != "" && ns[len(ns)-1] != ':' {
		return ns + ":"
	}
	return ns
}

func main() {
	os.Stdout = os.Stderr // upstream logs with fmt.Printf; keep them off the protocol stream
	if len(os.Args) < 2 {
		fail("usage: gowork-harness enqueue|worker|client|json|webui [flags]")
	}
	cmd, rest := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	addr := fs.String("redis", "127.0.0.1:6379", "HOST:PORT, redis+sentinel://H:P[,H:P]/SERVICE[/DB] or redis+cluster://H:P[,H:P]")
	ns := fs.String("ns", "work", "gocraft/work namespace")
	config := fs.String("config", "{}", "worker: config as JSON text or @FILE")
	op := fs.String("op", "", "client: the work.Client method")
	args := fs.String("args", "", "client: arguments of the call (JSON object); enqueue -bench: args of every job")
	webAddr := fs.String("addr", "127.0.0.1:5040", "webui: listen address")
	benchN := fs.Int("bench", 0, "enqueue: benchmark mode, number of jobs")
	benchNames := fs.String("names", "bench", "enqueue -bench: comma-separated job names, used round-robin")
	benchConc := fs.Int("bench-concurrency", 1, "enqueue -bench: number of goroutines")
	if err := fs.Parse(rest); err != nil {
		os.Exit(1)
	}
	if fs.NArg() > 0 {
		fail("%s: unexpected arguments %q", cmd, fs.Args())
	}

	switch cmd {
	case "enqueue":
		pool := poolFor(*addr, *ns)
		if *benchN > 0 {
			runEnqueueBench(pool, *ns, *benchN, *benchNames, *args, *benchConc)
		} else {
			runEnqueue(pool, *ns)
		}
	case "worker":
		runWorker(poolFor(*addr, *ns), *ns, readConfig(*config))
	case "client":
		runClient(poolFor(*addr, *ns), *ns, *op, *args)
	case "json":
		runJSON()
	case "webui":
		runWebUI(poolFor(*addr, *ns), *ns, *webAddr)
	default:
		fail("unknown subcommand %q", cmd)
	}
}

// readConfig accepts JSON text, or @PATH to read it from a file.
func readConfig(text string) []byte {
	if len(text) > 0 && text[0] == '@' {
		b, err := os.ReadFile(text[1:])
		if err != nil {
			fail("config: %v", err)
		}
		return b
	}
	return []byte(text)
}

// newLineScanner reads newline-separated requests of up to 64 MiB each.
func newLineScanner() *bufio.Scanner {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	return sc
}
