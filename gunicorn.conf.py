"""gunicorn's settings for this app: read from ./gunicorn.conf.py by default, so the README's
plain `gunicorn config.wsgi:application …` (run from this folder) uses them.

Only logging here; workers, bind and the access log's destination stay on the command line.
"""

from gunicorn.glogging import Logger

from config.logging import RedactSecrets


class RedactingLogger(Logger):
    """gunicorn's logger with Django's redaction: the access log (when on, e.g.
    `--access-logfile -`) shows webhook URLs and Facebook's handshake, whose key and verify
    token must not land in a log file."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):  # setup runs on reload
                log.addFilter(RedactSecrets())


logger_class = RedactingLogger
