#!/usr/bin/env bash
# The demo: two book shops on 127.0.0.1.
#   shop_b (port $SHOP_B_PORT, default 8001): books and audiobooks, a federation subgraph
#   that also publishes their changes, and the admin at /admin/ to make some.
#   shop_a (port $SHOP_A_PORT, default 8000): its own books, references to books in both
#   shops, the shopping options at /books/, the gateway at /graphql/ and the admin at /admin/.
#   shop_a's follower (manage.py follow_remote_changes) reads shop_b's changes: a book
#   deleted in shop_b loses its reference in shop_a, and an edited one is fetched again
#   although shop_a keeps shop_b's books 5 minutes.
#   Both admins: user admin; the password is printed, or set it with DEMO_ADMIN_PASSWORD.
# From a fresh clone it makes .venv, installs, migrates, loads the data (a second run
# changes nothing), starts both shops as ASGI apps (uvicorn) and the follower, and stops
# them on Ctrl-C or SIGTERM.
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
# Both admins: user "admin", password $DEMO_ADMIN_PASSWORD or a new one each run.
DEMO_ADMIN_PASSWORD=${DEMO_ADMIN_PASSWORD:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')}
(cd shop_b && DEMO_ADMIN_PASSWORD="$DEMO_ADMIN_PASSWORD" "$PY" manage.py demo_admin)
(cd shop_a && DEMO_ADMIN_PASSWORD="$DEMO_ADMIN_PASSWORD" "$PY" manage.py demo_admin)

pids=()
stop() {
    trap - EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        echo "==> stopping shop_a's follower and both shops"
        # Last started, first stopped: the follower (its batch under way ends
        # first) before the shop it reads.
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            kill -TERM "${pids[i]}" 2>/dev/null || true
            wait "${pids[i]}" 2>/dev/null || true
        done
    fi
}
trap 'stop; exit 0' INT TERM  # Ctrl-C or SIGTERM: a clean stop
trap stop EXIT                 # an error on the way: stop what started

background() {  # background TAG DIR COMMAND...: run it, each line of output tagged
    local tag=$1 dir=$2
    shift 2
    (cd "$dir" && exec "$@") > >(sed -u "s/^/[$tag] /") 2>&1 &
    pids+=("$!")
}

serve() {  # serve NAME PORT: uvicorn in the background, tagged with the shop
    background "$1" "$1" "$PY" -m uvicorn "$1.asgi:application" --host 127.0.0.1 --port "$2"
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
# shop_b's changes, as they happen: deletions applied (on_remote_delete), stale
# cache entries dropped. -v 2 prints each batch; PYTHONUNBUFFERED shows it at once.
background "shop_a follower" shop_a env PYTHONUNBUFFERED=1 "$PY" manage.py follow_remote_changes -v 2

cat <<MSG

The demo is running (Ctrl-C stops both shops and shop_a's follower):
  http://127.0.0.1:$SHOP_A_PORT/books/     every shop's offers, cheapest first, with buy links
  http://127.0.0.1:$SHOP_A_PORT/graphql/   the gateway, with GraphiQL
  http://127.0.0.1:$SHOP_A_PORT/subgraph/  the same fields as a subgraph, for Apollo Gateway
  http://127.0.0.1:$SHOP_A_PORT/admin/     the admin (user admin, password $DEMO_ADMIN_PASSWORD)
  http://127.0.0.1:$SHOP_B_PORT/admin/     shop_b's admin (same user): edit or delete a book there,
                                    and /books/ shows it within a second (shop_a's follower
                                    applies shop_b's change feed)
  $SHOP_B_URL   shop_b's subgraph (needs shop_b's token)

MSG
wait "${pids[@]}"
