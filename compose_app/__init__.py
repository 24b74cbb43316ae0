"""The Python side of docker-compose.yml: the worker app (``gowork worker
compose_app.worker_app:pool``) and the enqueuer loop (``python compose_app/enqueue_loop.py``)."""
