#!/bin/bash
# usage: bench/m1m_rebuild_dashboard.sh <code dir> <label>
# Issue #20: full rebuild + dashboard of one code tree (a `git archive` of a commit) on BENCH_DB
# (bench/METRICS.md, "1,000,000 tickets"). Run the trees one after the other on the same database.
cd $1
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/${BENCH_DB:-helpdesk_m1m} REDIS_URL=redis://127.0.0.1:6379/12 DJANGO_SECRET_KEY=bench-secret-key-bench-secret-key-bench-1234 DJANGO_SETTINGS_MODULE=helpdesk.settings.base DJANGO_LOG_LEVEL=WARNING DJANGO_SECURE_SSL_REDIRECT=false
echo "== $2 ($1) rebuild start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v .venv/bin/python manage.py metrics_rebuild --reset --inline --processes 2 > /tmp/rb_$2.out 2> /tmp/rb_$2.err
tail -n 5 /tmp/rb_$2.out; grep -E "Elapsed|Maximum resident" /tmp/rb_$2.err
echo "== $2 rebuild end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
psql -h 127.0.0.1 -U postgres -d ${BENCH_DB:-helpdesk_m1m} -Atc "select 'rollup cells', count(*) from metrics_dashboardrollup; select 'segments', count(*) from metrics_ticketsegment; select 'metrics rows', count(*) from metrics_ticketmetrics"
psql -h 127.0.0.1 -U postgres -d ${BENCH_DB:-helpdesk_m1m} -Atc "VACUUM ANALYZE"
for q in 1; do BENCH_NO_SURVEYS=1 BENCH_QUEUE=$q BENCH_DB=${BENCH_DB:-helpdesk_m1m} .venv/bin/python bench/dashboard_bench.py run --repeat 20; done
echo "== $2 done $(date -u +%T)"
