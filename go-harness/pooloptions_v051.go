//go:build !gowork_master

package main

import (
	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

// newWorkerPool makes the worker's pool. gocraft/work v0.5.1 hard-codes its idle sleeps,
// so a config asking for sleep_backoffs is refused rather than silently run with the
// defaults; pooloptions_master.go (build tag gowork_master) passes them on.
func newWorkerPool(concurrency uint, ns string, pool *redis.Pool, sleepBackoffs []int64) *work.WorkerPool {
	if len(sleepBackoffs) > 0 {
		fail("worker config: sleep_backoffs needs gocraft/work master (WorkerPoolOptions.SleepBackoffs); "+
			"this harness is built against %s, whose idle sleeps are fixed", upstreamVersion)
	}
	return work.NewWorkerPool(harnessContext{}, concurrency, ns, pool)
}
