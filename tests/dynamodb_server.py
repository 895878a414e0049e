"""The tests' local DynamoDB server: moto, serving one request at a time.

`moto_server` runs threaded, and moto applies a transaction's items without a
lock, so two concurrent TransactWriteItems on one item (our counts) can lose an
update, which DynamoDB never does: it serialises them or cancels one with
TransactionConflict. Serving one request at a time restores that guarantee, so
a concurrency test failing here is our bug, not the emulator's.

It also backs a table up once per transaction instead of once per item of
the transaction (moto deep-copies the whole table for each item, which makes a
transaction on a table of a few hundred items take most of a second).

usage: python dynamodb_server.py HOST PORT
"""

import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
import werkzeug.serving
from werkzeug.serving import run_simple


def _backup_each_table_once() -> None:
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        # Within one transaction no object is changed before it is backed up,
        # so one copy per object serves every item that asks for it. Requests
        # are served one at a time, so swapping the module's `copy` is safe.
        copies: dict[int, object] = {}

        def deepcopy_once(obj, memo=None):  # type: ignore[no-untyped-def]
            if id(obj) not in copies:
                copies[id(obj)] = copy.deepcopy(obj, memo)
            return copies[id(obj)]

        dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy_once, copy=copy.copy)
        try:
            return original(self, transact_items)
        finally:
            dynamodb_models.copy = copy

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    _backup_each_table_once()
    # Served one at a time, a burst of hundreds of concurrent requests (the
    # limits tests send 500 verifies at once) must wait in the listen queue,
    # not be dropped: werkzeug's default of 128 made clients time out connecting.
    werkzeug.serving.BaseWSGIServer.request_queue_size = 4096
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
