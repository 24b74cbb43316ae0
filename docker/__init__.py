"""The Python side of docker-compose.yml: the worker app (``gowork worker
docker.worker_app:pool``) and the enqueuer loop (``python docker/enqueue_loop.py``)."""
