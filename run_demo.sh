#!/usr/bin/env bash
# Run the two-shop demo. The demo projects (shop_a, shop_b and the gateway)
# are not built yet; this command says so instead of pretending.
set -euo pipefail
echo "The demo (shop_a, shop_b and the GraphQL gateway) does not exist yet." >&2
echo "Run ./run_tests.sh to run every check of the library." >&2
exit 1
