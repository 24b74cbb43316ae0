package main

// Dialling gocraft/work's redigo pool through Redis Sentinel or to a Redis Cluster's slot
// owner. gocraft/work v0.5.1 only takes a *redis.Pool; both topologies fit behind its Dial:
//
//   - Sentinel (github.com/FZambia/sentinel): Dial asks the sentinels for the current master,
//     TestOnBorrow drops a pooled connection whose server is no longer the master.
//   - Cluster (github.com/mna/redisc): a namespace with a hash tag keeps every key in one
//     slot, so Dial binds a cluster connection to that slot: it goes to the slot's owner.
//
// Either way a connection whose server answers MOVED, READONLY, CLUSTERDOWN or TRYAGAIN
// (a failover happened) reports itself broken, so the pool closes it instead of reusing it
// and the next Dial finds the new owner.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/FZambia/sentinel"
	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
)

const dialTimeout = 500 * time.Millisecond

// poolFor builds the redigo pool for -redis: HOST:PORT, redis://HOST:PORT[/DB],
// redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB] or
// redis+cluster://HOST:PORT[,HOST:PORT...] (ns is the namespace, whose hash tag picks the slot).
func poolFor(addr, ns string) *redis.Pool {
	switch {
	case strings.HasPrefix(addr, "redis+sentinel://"):
		rest := strings.TrimPrefix(addr, "redis+sentinel://")
		parts := strings.Split(rest, "/")
		if len(parts) < 2 || parts[1] == "" {
			fail("sentinel URL needs a service name: redis+sentinel://HOST:PORT[,HOST:PORT]/SERVICE[/DB]")
		}
		db := 0
		if len(parts) > 2 && parts[2] != "" {
			fmt.Sscanf(parts[2], "%d", &db)
		}
		return sentinelPool(strings.Split(parts[0], ","), parts[1], db)
	case strings.HasPrefix(addr, "redis+cluster://"):
		nodes := strings.Split(strings.TrimSuffix(strings.TrimPrefix(addr, "redis+cluster://"), "/"), ",")
		return clusterPool(nodes, ns)
	case strings.HasPrefix(addr, "redis://"):
		return newPool(strings.SplitN(strings.TrimPrefix(addr, "redis://"), "/", 2)[0])
	}
	return newPool(addr)
}

func sentinelPool(addrs []string, service string, db int) *redis.Pool {
	sntnl := &sentinel.Sentinel{
		Addrs:      addrs,
		MasterName: service,
		Dial: func(addr string) (redis.Conn, error) {
			return redis.Dial("tcp", addr, redis.DialConnectTimeout(dialTimeout),
				redis.DialReadTimeout(dialTimeout), redis.DialWriteTimeout(dialTimeout))
		},
	}
	return &redis.Pool{
		MaxActive: 50, MaxIdle: 50, Wait: true, IdleTimeout: 240 * time.Second,
		Dial: func() (redis.Conn, error) {
			master, err := sntnl.MasterAddr()
			if err != nil {
				return nil, err
			}
			c, err := redis.Dial("tcp", master, redis.DialConnectTimeout(dialTimeout), redis.DialDatabase(db))
			if err != nil {
				return nil, err
			}
			if !sentinel.TestRole(c, "master") { // the sentinels have not noticed the failover yet
				c.Close()
				return nil, fmt.Errorf("%s is not a master (yet)", master)
			}
			return &failoverConn{Conn: c}, nil
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if time.Since(t) < time.Second {
				return nil
			}
			if !sentinel.TestRole(c, "master") {
				return errors.New("not a master any more")
			}
			return nil
		},
	}
}

func clusterPool(nodes []string, ns string) *redis.Pool {
	cluster := &redisc.Cluster{
		StartupNodes: nodes,
		DialOptions:  []redis.DialOption{redis.DialConnectTimeout(dialTimeout)},
	}
	key := namespacePrefix(ns) + "jobs" // every key of a hash-tagged namespace lives in this slot
	return &redis.Pool{
		MaxActive: 50, MaxIdle: 50, Wait: true, IdleTimeout: 240 * time.Second,
		Dial: func() (redis.Conn, error) {
			if err := cluster.Refresh(); err != nil {
				return nil, err
			}
			c, err := cluster.Dial()
			if err != nil {
				return nil, err
			}
			if err := redisc.BindConn(c, key); err != nil {
				c.Close()
				return nil, err
			}
			return &failoverConn{Conn: c}, nil
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

// failoverConn marks itself broken once its server says it no longer serves our keys.
type failoverConn struct {
	redis.Conn
	broken error
}

func (c *failoverConn) check(err error) {
	if re, ok := err.(redis.Error); ok {
		msg := string(re)
		for _, p := range []string{"MOVED ", "ASK ", "READONLY ", "CLUSTERDOWN ", "TRYAGAIN ", "LOADING "} {
			if strings.HasPrefix(msg, p) {
				c.broken = err
			}
		}
	}
}

func (c *failoverConn) Err() error {
	if c.broken != nil {
		return c.broken
	}
	return c.Conn.Err()
}

func (c *failoverConn) Do(cmd string, args ...interface{}) (interface{}, error) {
	r, err := c.Conn.Do(cmd, args...)
	c.check(err)
	if err == nil {
		if vals, ok := r.([]interface{}); ok { // errors inside EXEC or pipelined replies
			for _, v := range vals {
				if e, ok := v.(redis.Error); ok {
					c.check(e)
				}
			}
		}
	}
	return r, err
}

func (c *failoverConn) Receive() (interface{}, error) {
	r, err := c.Conn.Receive()
	c.check(err)
	return r, err
}
