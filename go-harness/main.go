// Command gowork-harness drives the real github.com/gocraft/work so that the Python
// side can be tested against it: every protocol line it prints is one JSON object.
//
//	gowork-harness enqueue -redis HOST:PORT -ns NS        (requests on stdin)
//	gowork-harness worker  -redis HOST:PORT -ns NS -config JSON|@FILE
//	gowork-harness client  -redis HOST:PORT -ns NS -op OP [-args JSON]
//	gowork-harness json                                   (requests on stdin)
//	gowork-harness webui   -redis HOST:PORT -ns NS -addr HOST:PORT
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

// out is the real stdout: protocol lines only. gocraft/work logs its errors with
// fmt.Printf, so os.Stdout is pointed at stderr before anything else runs.
var (
	out   = bufio.NewWriterSize(os.Stdout, 1<<16)
	outMu sync.Mutex
)

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "marshal: " + err.Error()})
	}
	outMu.Lock()
	out.Write(b)
	out.WriteByte('\n')
	out.Flush()
	outMu.Unlock()
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gowork-harness: "+format+"\n", args...)
	os.Exit(2)
}

func newPool(addr string) *redis.Pool {
	return &redis.Pool{
		MaxActive:   64,
		MaxIdle:     64,
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

func main() {
	os.Stdout = os.Stderr
	if len(os.Args) < 2 {
		fail("usage: gowork-harness enqueue|worker|client|json|webui [flags]")
	}
	cmd, rest := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	addr := fs.String("redis", "127.0.0.1:6379", "redis host:port")
	ns := fs.String("ns", "work", "gocraft/work namespace")
	config := fs.String("config", "{}", "worker config: JSON or @file")
	op := fs.String("op", "", "client operation")
	args := fs.String("args", "{}", "client operation arguments (JSON)")
	webAddr := fs.String("addr", "127.0.0.1:5040", "webui listen address")
	benchN := fs.Int("bench", 0, "enqueue: benchmark mode, number of jobs")
	benchNames := fs.String("names", "bench", "enqueue benchmark: comma-separated job names")
	benchArgs := fs.String("bench-args", "{}", "enqueue benchmark: args of every job (JSON)")
	benchConc := fs.Int("bench-concurrency", 1, "enqueue benchmark: goroutines")
	fs.Parse(rest)

	switch cmd {
	case "enqueue":
		pool := newPool(*addr)
		if *benchN > 0 {
			runEnqueueBench(pool, *ns, *benchN, *benchNames, *benchArgs, *benchConc)
			return
		}
		runEnqueue(pool, *ns)
	case "worker":
		runWorker(newPool(*addr), *ns, *config)
	case "client":
		runClient(newPool(*addr), *ns, *op, *args)
	case "json":
		runJSON()
	case "webui":
		runWebUI(newPool(*addr), *ns, *webAddr)
	default:
		fail("unknown subcommand %q", cmd)
	}
}

// readConfig accepts JSON text or @path.
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
