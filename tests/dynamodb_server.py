"""The tests' local DynamoDB server: moto, serving one request at a time.

`moto_server` runs threaded, and moto applies a transaction's items without a
lock, so two concurrent TransactWriteItems on one item (our counts) can lose an
update, which DynamoDB never does: it serialises them or cancels one with
TransactionConflict. Serving one request at a time restores that guarantee, so
a concurrency test failing here is our bug, not the emulator's.

usage: python dynamodb_server.py HOST PORT
"""

import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
