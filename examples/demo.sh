#!/usr/bin/env bash
# `make demo`: the main job end to end on the embedded default (SQLite file nurture.db,
# e-mails written as .eml files into ./outbox). Safe to run again: nothing is done twice.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${NURTURE:-nurture}"

echo "== schema"
"$N" init

# --- routing: team and rules ---
echo "== routing: two teams, supervisors, one manager on leave, weighted round-robin"
"$N" team load examples/team.yaml
"$N" team absent dmitry.volkov@example.ru --from 2026-12-28 --to 2027-01-08 --reason "New Year holidays"
"$N" team report

# --- intake: event lists ---

# --- cadence: campaigns, purchases, one nurture cycle ---

# --- mail: send what is due ---

# --- scoring: rank dormant leads ---

# --- coverage: nobody forgotten ---
