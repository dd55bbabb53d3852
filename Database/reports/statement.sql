-- Custody statement of one account with the fields of ISO 20022 semt.002
-- (statement of holdings): statement date and time (the block time at the
-- statement height), basis (settled positions), per instrument the opening
-- balance at the previous statement height "from", credits and debits since,
-- and the aggregate balance at "height". XML is not emitted.
-- Variables: account (required), height (empty: the watermark), from (empty: 0).
--   psql -v account=2 -v height= -v from= -f Database/reports/statement.sql
--   clearledger report statement --db URL --account 2 [--at H] [--from H]
WITH bounds AS (
    SELECT coalesce(nullif(:'height', '')::bigint, (SELECT height FROM mirror_watermark)) AS hi,
           coalesce(nullif(:'from', '')::bigint, 0) AS lo
), per AS (
    SELECT m.security_id,
           coalesce(sum(m.delta) FILTER (WHERE m.height <= b.lo), 0) AS opening,
           coalesce(sum(m.delta) FILTER (WHERE m.height > b.lo AND m.height <= b.hi AND m.delta > 0), 0) AS credits,
           coalesce(-sum(m.delta) FILTER (WHERE m.height > b.lo AND m.height <= b.hi AND m.delta < 0), 0) AS debits,
           coalesce(sum(m.delta) FILTER (WHERE m.height <= b.hi), 0) AS closing
    FROM holding_movements m CROSS JOIN bounds b
    WHERE m.account_id = nullif(:'account', '')::bigint
    GROUP BY m.security_id
)
SELECT a.account_id AS account, a.name,
       to_char(to_timestamp(blk.time_us / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS statement_time,
       b.hi AS height, b.lo AS previous_height, 'settled' AS basis,
       s.symbol AS instrument, s.name AS instrument_name, p.opening, p.credits, p.debits, p.closing AS aggregate_balance
FROM per p
CROSS JOIN bounds b
JOIN accounts a ON a.account_id = nullif(:'account', '')::bigint
JOIN securities s ON s.security_id = p.security_id
LEFT JOIN blocks blk ON blk.height = b.hi
WHERE p.opening <> 0 OR p.credits <> 0 OR p.debits <> 0 OR p.closing <> 0
ORDER BY s.symbol;
