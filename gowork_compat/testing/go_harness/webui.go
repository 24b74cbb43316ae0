package main

// webui: upstream's workwebui (webui.NewServer(ns, pool, addr).Start()) until SIGTERM or
// SIGINT. Prints {"event":"listening","addr":ADDR} once the port accepts connections; when
// the address cannot be bound it prints {"event":"error","error":str} and exits 1.

import (
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gocraft/work/webui"
	"github.com/gomodule/redigo/redis"
)

func runWebUI(pool *redis.Pool, ns string, addr string) {
	// Upstream's Start drops the ListenAndServe error, so find out first whether the
	// address is free (a port owned by someone else would also accept our probe below).
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		emit(map[string]interface{}{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	ln.Close()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	server := webui.NewServer(ns, pool, addr)
	server.Start()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			emit(map[string]interface{}{"event": "error", "error": "webui not accepting connections: " + err.Error()})
			os.Exit(1)
		}
	}
	emit(map[string]interface{}{"event": "listening", "addr": addr})
	<-sigs
	server.Stop()
}
