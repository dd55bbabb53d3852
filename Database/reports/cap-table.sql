-- Cap table of one security as of a block height: holders, shares, percentage
-- of the shares outstanding at that height. From the movement journal, so any
-- past height works.
-- Variables: security (symbol or id), height (empty: the watermark).
--   psql -v security=ACME -v height= -f Database/reports/cap-table.sql
--   clearledger report cap-table --db URL --security ACME [--at H]
WITH sec AS (
    SELECT security_id, symbol FROM securities WHERE symbol = :'security' OR security_id::text = :'security'
), positions AS (
    SELECT m.account_id, sum(m.delta) AS shares
    FROM holding_movements m JOIN sec ON sec.security_id = m.security_id
    WHERE m.height <= coalesce(nullif(:'height', '')::bigint, (SELECT height FROM mirror_watermark))
    GROUP BY m.account_id
    HAVING sum(m.delta) <> 0
)
SELECT sec.symbol AS security, p.account_id AS account, a.name, p.shares,
       round(100.0 * p.shares / sum(p.shares) OVER (), 4) AS percent
FROM positions p
JOIN accounts a ON a.account_id = p.account_id
CROSS JOIN sec
ORDER BY p.shares DESC, p.account_id;
