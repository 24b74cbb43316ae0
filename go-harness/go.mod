module github.com/gowork-compat/go-harness

go 1.26.8

require (
	github.com/gocraft/work v0.5.1 // indirect
	github.com/gomodule/redigo v1.9.3 // indirect
	github.com/robfig/cron v1.2.0 // indirect
)
