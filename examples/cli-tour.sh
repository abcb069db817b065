#!/usr/bin/env bash
# `make tour`: the CLI step by step on the embedded default (SQLite file nurture.db, e-mails
# written as .eml files into ./outbox), at the wall clock. `make demo` runs the main job
# through Prefect in simulated time instead. Safe to run again: nothing is done twice.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${NURTURE:-nurture}"

mkdir -p demo-out
echo "== schema"
"$N" init

# --- routing: team and rules ---
echo "== routing: two teams, supervisors, one manager on leave, weighted round-robin"
"$N" team load examples/team.yaml
"$N" team absent dmitry.volkov@example.ru --from 2026-12-28 --to 2027-01-08 --reason "New Year holidays"

# --- intake: event lists ---
echo "== intake: four event lists (a second run says 'already imported')"
"$N" import examples/events/innoprom-2026-badges.csv --event "Иннопром-2026" --kind exhibition --date 2026-07-07
"$N" import examples/events/seminar-2026-09-15-signups.xlsx --event "Lean Manufacturing Seminar" --kind seminar --date 2026-09-15
"$N" import examples/events/webinar-2026-10-01-attendees.csv --event "Industry 4.0 Webinar" --kind webinar --date 2026-10-01
"$N" import examples/events/webform-2026-10.jsonl --event "Website contact form" --kind webform
"$N" quarantine list
"$N" leads duplicates
echo "-- where lead 1 was met (a linked row can be split off: leads unmerge --source ID)"
"$N" leads sources 1
"$N" leads export --out demo-out/leads-export.csv

# --- cadence: campaigns, purchases, one nurture cycle ---
echo "== cadence: campaigns (exhibition, seminar, webinar, dormant; ru + en)"
"$N" campaign load examples/campaigns/*.yaml
"$N" campaign list
echo "== cadence: purchases (buyers stop their campaigns, feed dormancy and scoring)"
"$N" purchases import examples/purchases.csv
echo "== cadence: one nurture cycle (idempotent: a second run at the same time adds nothing)"
"$N" run
echo "== routing: who got the new leads, and why"
"$N" team report
"$N" lead show 1

# --- mail: send what is due ---
echo "== mail: check templates, send what is due (.eml files in ./outbox), outbox states"
"$N" template check
"$N" suppress add do-not-mail@example.com --reason manual
"$N" send
"$N" outbox status

# --- scoring: rank dormant leads ---
echo "== scoring: CDNOW reference test, then score every lead and rank the dormant ones"
"$N" score cdnow-export --out demo-out/cdnow.csv
"$N" score evaluate --transactions demo-out/cdnow.csv --as-of 1997-12-30 --horizon-days 182 --n-boot 50
"$N" score predict --transactions demo-out/cdnow.csv --as-of 1997-12-30 --horizon-days 182 \
  --out demo-out/cdnow-predictions.csv
# Retraining on the demo database publishes into demo-out/models (the committed CDNOW
# version in models/ stays the one in use); it needs a horizon's worth of purchases.
NURTURE_MODELS_DIR=demo-out/models "$N" score train --horizon-days 90 --n-boot 20 \
  || echo "   (not enough purchase history in the demo database to retrain: using models/lead-value/current)"
"$N" score models
"$N" score leads
"$N" score rank --dormant-days 180 --top 10

# --- coverage: nobody forgotten ---
echo "== coverage: every open lead has a next step; nobody untouched for 30 days"
"$N" coverage
echo "== a quarter of nurture in simulated time (scratch database; last days and the totals)"
# (the header, the last week, and the totals: awk reads it all, so no broken pipe)
"$N" simulate --start 2026-01-05 --days 90 --leads 300 \
  | awk 'NR <= 2 { print; next } { tail[NR % 8] = $0 } END { for (i = NR - 7; i <= NR; i++) print tail[i % 8] }'

