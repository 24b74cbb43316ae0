module github.com/gowork-compat/go-harness

go 1.22

require (
	github.com/FZambia/sentinel v1.1.1
	github.com/gocraft/work v0.5.1
	github.com/gomodule/redigo v1.9.3
	github.com/mna/redisc v1.4.0
	github.com/robfig/cron v1.2.0
	github.com/robfig/cron/v3 v3.0.1
)

require (
	github.com/braintree/manners v0.0.0-20160418043613-82a8879fc5fd // indirect
	github.com/gocraft/web v0.0.0-20190207150652-9707327fb69b // indirect
)
