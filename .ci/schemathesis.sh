#!/usr/bin/env bash
# Property-based tests of the REST API against a running server (called by .ci/run).
#
# Starts `regdesk serve --demo service-desk` on a free port with a throwaway REGDESK_DATA
# (SQLite), issues a write-scope API token to a demo agent, and runs schemathesis against
# /api/v1/openapi.json: no 5xx for any input, every response's status code is documented and
# its body matches the documented schema. Bounded (examples per operation, seed) so that it
# takes a few minutes and a failure reproduces.
#
#   .ci/schemathesis.sh                       # the CI run
#   SCHEMATHESIS_MAX_EXAMPLES=200 .ci/schemathesis.sh   # longer
#   SCHEMATHESIS_SEED=1 .ci/schemathesis.sh             # another sequence
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$PWD/.venv/bin"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
SEED="${SCHEMATHESIS_SEED:-20250601}"
CHECKS="not_a_server_error,status_code_conformance,response_schema_conformance"

# The same virtualenv as `make test`; builds it on a clean clone.
make -s .venv/.installed

workdir="$(mktemp -d "${TMPDIR:-/tmp}/regdesk-schemathesis.XXXXXX")"
server_pid=""
cleanup() {
    status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$workdir/server.log" ]; then
        echo "--- last lines of the server's log ---" >&2
        tail -n 60 "$workdir/server.log" >&2 || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A server of its own: SQLite in a fresh data directory, nothing from the caller's environment.
# Mail goes nowhere (the demo's addresses are made up), tasks run in the server's own worker.
unset DATABASE_URL REGDESK_CACHE_URL REGDESK_SECRET_KEY REGDESK_SECRETS_KEY REGDESK_TASKS
export REGDESK_DATA="$workdir/data" REGDESK_DEBUG=0 REGDESK_ALLOWED_HOSTS="127.0.0.1"
export REGDESK_LOG_LEVEL=ERROR REGDESK_EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
port="$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

echo "schemathesis: starting regdesk serve --demo service-desk on $base"
"$BIN/regdesk" serve --demo service-desk --host 127.0.0.1 --port "$port" \
    >"$workdir/server.log" 2>&1 &
server_pid=$!

# Migrations and the demo come first; then the server answers.
for _ in $(seq 1 180); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "schemathesis: the server exited before answering" >&2
        exit 1
    fi
    if "$BIN/python" - "$base/api/v1/openapi.json" <<'PY' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
        break
    fi
    sleep 1
done
"$BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" \
    "$base/api/v1/openapi.json" || { echo "schemathesis: the server does not answer" >&2; exit 1; }

# A write token for the lead agent of the Berlin desk, with a rate limit out of the way. Only
# the plaintext is printed (to this script, not the log). Write, not admin: with admin scope the
# fuzzer would subscribe webhooks to generated URLs and the server's worker would deliver to them.
token="$(DJANGO_SETTINGS_MODULE=regdesk.config.settings "$BIN/python" - <<'PY'
import django

django.setup()
from django.contrib.auth.models import User

from regdesk.api.services import token_create

_, plaintext = token_create(
    user=User.objects.get(username="anna.schmidt"),
    name="schemathesis",
    scope="write",
    rate_per_minute=1_000_000,
)
print(plaintext)
PY
)"

# Realistic values some of the time, so that requests get past "not found" into the services:
# the Berlin desk (the token's agent works there), its tickets, request types and requesters.
# The token goes in through the environment, not the command line.
cat >"$workdir/schemathesis.toml" <<'TOML'
headers = { Authorization = "Bearer ${REGDESK_API_TOKEN}" }

[dictionaries]
desks = { values = ["local-berlin"] }
references = { values = [
    "BER-000001", "BER-000003", "BER-000005", "BER-000006", "BER-000008", "BER-000009",
    "BER-000010", "BER-000011", "BER-000012", "BER-000013",
] }
request_types = { values = ["incident", "service-request"] }
requesters = { values = ["petra.brandt@brandt-logistik.de", "lena.vogel@havelwerk.de"] }
priorities = { values = ["low", "medium", "high", "critical"] }

[parameters]
"path.slug" = { dictionary = "desks", probability = 0.7 }
"path.reference" = { dictionary = "references", probability = 0.7 }
"query.desk" = { dictionary = "desks", probability = 0.5 }
"body.desk" = { dictionary = "desks", probability = 0.8 }
"body.request_type" = { dictionary = "request_types", probability = 0.7 }
"body.requester_email" = { dictionary = "requesters", probability = 0.7 }
"body.priority" = { dictionary = "priorities", probability = 0.5 }
"body.into" = { dictionary = "references", probability = 0.7 }
TOML
export REGDESK_API_TOKEN="$token"

echo "schemathesis: $MAX_EXAMPLES examples per operation, seed $SEED, checks $CHECKS"
# From the throwaway directory: schemathesis keeps a cache of past failures in ./.schemathesis,
# which would make one run depend on the one before.
cd "$workdir"
"$BIN/schemathesis" --config-file "$workdir/schemathesis.toml" run "$base/api/v1/openapi.json" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --no-color
