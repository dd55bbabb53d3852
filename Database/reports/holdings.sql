-- Holdings by account as of a block height, from the movement journal.
-- Variables: height (empty: the watermark), account (empty: every account).
--   psql -v height= -v account=2 -f Database/reports/holdings.sql
--   clearledger report holdings --db URL [--at H] [--account 2]
SELECT m.account_id AS account, a.name, s.symbol AS security, sum(m.delta) AS shares
FROM holding_movements m
JOIN accounts a ON a.account_id = m.account_id
JOIN securities s ON s.security_id = m.security_id
WHERE m.height <= coalesce(nullif(:'height', '')::bigint, (SELECT height FROM mirror_watermark))
  AND (nullif(:'account', '') IS NULL OR m.account_id = nullif(:'account', '')::bigint)
GROUP BY m.account_id, a.name, s.symbol
HAVING sum(m.delta) <> 0
ORDER BY m.account_id, s.symbol;
