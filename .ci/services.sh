#!/usr/bin/env bash
# Start the loopback services the tests use (PostgreSQL; Redis and RabbitMQ for the scale-out
# set-up) when this machine has them installed but they are not running. Never fails the build:
# tests that need a missing service say so themselves.
set -u
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  for cluster in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  done
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
# RabbitMQ: the review ingest's tests read events from it.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v rabbitmq-server >/dev/null 2>&1 && ! port_open 5672; then
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
fi
exit 0
