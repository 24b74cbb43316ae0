//go:build gowork_master

package main

// Built with -tags gowork_master against an upstream master checkout: master has
// NewWorkerPoolWithOptions and WorkerPoolOptions.SleepBackoffs.

import (
	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

// newWorkerPool makes the worker's pool; sleepBackoffs (milliseconds, the config's
// "sleep_backoffs") go to WorkerPoolOptions.SleepBackoffs, empty meaning master's default.
func newWorkerPool(concurrency uint, ns string, pool *redis.Pool, sleepBackoffs []int64) *work.WorkerPool {
	return work.NewWorkerPoolWithOptions(harnessContext{}, concurrency, ns, pool,
		work.WorkerPoolOptions{SleepBackoffs: sleepBackoffs})
}
