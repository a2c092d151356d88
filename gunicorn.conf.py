"""gunicorn's settings for riskreg: the Dockerfile and docker-compose.yml start it with this file.

Threaded workers (gthread), not gunicorn's default sync workers. A sync worker stops telling the
arbiter it is alive while it serves a request, and is killed once one request lasts longer than
`timeout`: a CSV export of a long list, or a slow client reading one, was cut off mid-download
(at 100k evaluations the user received 29,618 of 100,034 lines, with no error shown). A gthread
worker's main thread keeps reporting while its threads serve requests, so `timeout` still catches
a hung worker but never cuts a download short (tests/test_list_exports.py checks this under a
timeout far shorter than the download).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
accesslog = "-"
