-- Settled trades by day (UTC, block time) and security, with the volume-
-- weighted average price in ticks.
-- Variables: security (symbol or id; empty: all), height (empty: the watermark).
--   psql -v security= -v height= -f Database/reports/trades.sql
--   clearledger report trades --db URL [--security ACME] [--at H]
SELECT (to_timestamp(t.settled_at_us / 1000000.0) AT TIME ZONE 'UTC')::date AS day,
       s.symbol AS security,
       count(*) AS trades,
       sum(t.shares) AS shares,
       round(sum(t.shares::numeric * t.price) / sum(t.shares), 4) AS vwap,
       min(t.price) AS low,
       max(t.price) AS high,
       sum(t.shares::numeric * t.price * s.cash_per_tick) AS cash
FROM trades t
JOIN securities s ON s.security_id = t.security_id
WHERE t.status = 'settled'
  AND t.height <= coalesce(nullif(:'height', '')::bigint, (SELECT height FROM mirror_watermark))
  AND (nullif(:'security', '') IS NULL OR s.symbol = :'security' OR s.security_id::text = :'security')
GROUP BY 1, 2
ORDER BY 1, 2;
