"""The bank as a Flask service over SQLite, traced by the official OpenTelemetry instrumentations of
Flask and sqlite3 (their span names and attributes, as real services have them) around the bank's
own fetch-balance and withdrawal spans.

    python -m bank.app --db /tmp/bank.db --listen 127.0.0.1:8080 [--bug]

exports its spans over OTLP/HTTP (to `tracecheck collect`'s 127.0.0.1:4318 unless
OTEL_EXPORTER_OTLP_ENDPOINT says otherwise). Tests build the app with :func:`create_app` and a
tracer provider of their own.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
from typing import Tuple

from flask import Flask, jsonify, request
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
from opentelemetry.trace import TracerProvider

from .logic import Bank, Reply
from .store import SqliteStore


def instrumented_connection(path: str, tracer_provider: TracerProvider) -> sqlite3.Connection:
    """A SQLite connection whose statements the sqlite3 instrumentation traces with
    ``tracer_provider`` (this connection only: nothing global is patched)."""
    return SQLite3Instrumentor.instrument_connection(SqliteStore.connect(path), tracer_provider=tracer_provider)


def create_app(db_path: str, tracer_provider: TracerProvider, *, balance_check: bool = True) -> Flask:
    """The service: ``POST /accounts``, ``POST /<account>/withdraw``, ``GET /<account>/balance``.
    ``balance_check=False`` is the seed's bug."""
    app = Flask("bank")
    store = SqliteStore(instrumented_connection(db_path, tracer_provider))
    # The driver makes the database spans; the bank adds fetch-balance and withdrawal.
    bank = Bank(store, tracer_provider.get_tracer("bank"), balance_check=balance_check, db_spans=False)
    app.extensions["bank"] = bank

    def answer(reply: Reply) -> Tuple[object, int]:
        return jsonify(reply.body), reply.status

    @app.post("/accounts")
    def create_account():  # type: ignore[no-untyped-def]
        body = request.get_json(force=True)
        return answer(bank.create_account(str(body.get("id", "")), int(body.get("balance", -1))))

    @app.post("/<account>/withdraw")
    def withdraw(account: str):  # type: ignore[no-untyped-def]
        body = request.get_json(force=True)
        return answer(bank.withdraw(account, int(body.get("amount", 0))))

    @app.get("/<account>/balance")
    def balance(account: str):  # type: ignore[no-untyped-def]
        return answer(bank.balance(account))

    FlaskInstrumentor.instrument_app(app, tracer_provider=tracer_provider)
    return app


def main() -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="bank.db", help="the SQLite file")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT")
    parser.add_argument("--bug", action="store_true", help="the seed's bug: no balance check")
    args = parser.parse_args()
    provider = SdkTracerProvider(resource=Resource.create({"service.name": "bank"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    host, port = args.listen.rsplit(":", 1)
    # SIGTERM (kill) ends the server like Ctrl-C, so the buffered spans are flushed below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        create_app(args.db, provider, balance_check=not args.bug).run(host=host, port=int(port))
    finally:
        provider.shutdown()  # flushes the spans still buffered


if __name__ == "__main__":
    main()
