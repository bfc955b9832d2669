"""gunicorn settings for janela's web process: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`."""

bind = "0.0.0.0:8000"
workers = 4
# A hop answers within HOP_DEADLINE (5 s); a request still running after this is killed and logged.
timeout = 20
graceful_timeout = 20
accesslog = "-"
# %(U)s is the path without its query string: the webhook token never reaches the access log.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
