"""Django's PostgreSQL backend with a health check that costs no round trip.

Django checks a persistent connection once per request before using it
(CONN_HEALTH_CHECKS) by running SELECT 1: a round trip on every request that
touches the database, about a tenth of a metered verify and of a SIWE sign-in.
A server that ended the connection (a restart, pg_terminate_backend, an idle
timeout) has already told the client so: its farewell message and the close
make the socket readable. So an idle connection whose socket has nothing to read
is usable, known without asking; anything waiting on the socket gets Django's own
SELECT 1, which reads it (a notice, a TLS record) or finds the connection gone.

What neither check can see the same way: a server that vanished without a word
(a cut network), which SELECT 1 would only find after the TCP timeout. The next
statement then fails as it would have after a passed SELECT 1, and Django closes
the connection at the end of that request.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        if (
            pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status == pq.TransactionStatus.IDLE
            and not _readable(pgconn.socket)
        ):
            return True
        return super().is_usable()


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
