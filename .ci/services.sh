#!/usr/bin/env bash
# Start the loopback services the tests use (PostgreSQL; Redis and RabbitMQ for the scale-out
# set-up) when this machine has them installed but they are not running. Never fails the build:
# tests that need a missing service say so themselves.
set -u
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  for cluster in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  done
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
# Redis: the scale-out lock store.
if command -v redis-server >/dev/null 2>&1 && ! port_open 6379; then
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do port_open 6379 && break; sleep 0.5; done
fi
# RabbitMQ: the review ingest's tests and the scale-out topology send events through it.
if command -v rabbitmq-server >/dev/null 2>&1 && ! port_open 5672; then
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
fi
exit 0
