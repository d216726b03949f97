#!/usr/bin/env bash
# The demo: two book shops on 127.0.0.1.
#   shop_b (port $SHOP_B_PORT, default 8001): books and audiobooks, a federation subgraph.
#   shop_a (port $SHOP_A_PORT, default 8000): its own books, references to books in both
#   shops, the shopping options at /books/, the gateway at /graphql/ and the admin at /admin/
#   (user admin; the password is printed, or set it with DEMO_ADMIN_PASSWORD).
# From a fresh clone it makes .venv, installs, migrates, loads the data (a second run
# changes nothing), starts both as ASGI apps (uvicorn), and stops both on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
SHOP_A_PORT=${SHOP_A_PORT:-8000}
SHOP_B_PORT=${SHOP_B_PORT:-8001}
PYTHON=${PYTHON:-python3.11}
PY="$ROOT/.venv/bin/python"

if [ ! -x "$PY" ]; then
    echo "==> creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
echo "==> installing"
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet -e ".[demo]"
if [ ! -f .cache/graphiql/node_modules/graphiql/graphiql.min.js ]; then
    echo "==> installing GraphiQL's browser files (npm)"
    mkdir -p .cache/graphiql
    cp graphql_gateway/graphiql/package.json .cache/graphiql/
    (cd .cache/graphiql && npm install --no-audit --no-fund --loglevel=error)
fi

export SHOP_B_URL="http://127.0.0.1:$SHOP_B_PORT/graphql/"
# shop_b answers only callers with this token; shop_a sends it. Neither logs it.
SHOP_B_TOKEN=${SHOP_B_TOKEN:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')}
export SHOP_B_TOKEN

echo "==> migrating and loading both shops"
(cd shop_b && "$PY" manage.py migrate --noinput -v0 && "$PY" manage.py seed_shop)
(cd shop_a && "$PY" manage.py migrate --noinput -v0 && "$PY" manage.py seed_shop)
# shop_a's admin: user "admin", password $DEMO_ADMIN_PASSWORD or a new one each run.
DEMO_ADMIN_PASSWORD=${DEMO_ADMIN_PASSWORD:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')}
(cd shop_a && DEMO_ADMIN_PASSWORD="$DEMO_ADMIN_PASSWORD" "$PY" manage.py demo_admin)

pids=()
stop() {
    trap - EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        echo "==> stopping both shops"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap 'stop; exit 0' INT TERM  # Ctrl-C or SIGTERM: a clean stop
trap stop EXIT                 # an error on the way: stop what started

serve() {  # serve NAME PORT: uvicorn in the background, each line tagged with the shop
    (cd "$1" && exec "$PY" -m uvicorn "$1.asgi:application" --host 127.0.0.1 --port "$2") \
        > >(sed -u "s/^/[$1] /") 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $2), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "$1 did not start on port $2" >&2
    return 1
}

serve shop_b "$SHOP_B_PORT"
echo "==> shop_a reads shop_b's schema and references every book it can see"
# A shop_b that has just started may answer its first requests slowly: give the
# set-up more time than the pages get.
(cd shop_a && export SHOP_B_TIMEOUT=${SHOP_B_SETUP_TIMEOUT:-20} \
    && "$PY" manage.py sync_remote_contenttypes && "$PY" manage.py create_references)
serve shop_a "$SHOP_A_PORT"

cat <<MSG

The demo is running (Ctrl-C stops both shops):
  http://127.0.0.1:$SHOP_A_PORT/books/     every shop's offers, cheapest first, with buy links
  http://127.0.0.1:$SHOP_A_PORT/graphql/   the gateway, with GraphiQL
  http://127.0.0.1:$SHOP_A_PORT/subgraph/  the same fields as a subgraph, for Apollo Gateway
  http://127.0.0.1:$SHOP_A_PORT/admin/     the admin (user admin, password $DEMO_ADMIN_PASSWORD)
  $SHOP_B_URL   shop_b's subgraph (needs shop_b's token)

MSG
wait "${pids[@]}"
