#!/bin/bash
# bench/metrics_dump.sh DB OUTDIR: every metrics table's rows sorted (no ids, computed_at, marked_at;
# floats to 6 decimals), and per table its row count and md5: a rebuild's output before / after (bench/METRICS.md)
db=$1; out=$2; mkdir -p $out
for t in metrics_dashboardrollup metrics_surveyfact metrics_ticketagenthandle metrics_ticketmetrics metrics_ticketnextreply metrics_ticketsegment metrics_ticketstatusinterval metrics_dashboardrollupstale metrics_metricsdirty; do
  cols=$(psql -h 127.0.0.1 -U postgres -d $db -Atc "select string_agg(quote_ident(column_name)||CASE WHEN data_type in ('double precision','real') THEN '::numeric(30,6)' ELSE '' END, ',' order by ordinal_position) from information_schema.columns where table_name='$t' and column_name not in ('id','computed_at','marked_at')")
  psql -h 127.0.0.1 -U postgres -d $db -Atc "COPY (SELECT $cols FROM $t ORDER BY $cols) TO STDOUT" > $out/$t.tsv
  echo "$t $(wc -l < $out/$t.tsv) $(md5sum < $out/$t.tsv | cut -c1-12)"
done
