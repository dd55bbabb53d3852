-- Per account and security between two heights: opening balance (at height
-- "from"), the movements after it up to height "to", and the closing balance;
-- at the watermark the closing balance must equal the current holding. A
-- second part lists trades and transfers whose movements do not net to zero
-- (the double-entry rule). Rows whose check is not 'ok' need attention.
-- Variables: from (empty: 0), to (empty: the watermark).
--   psql -v from=0 -v to= -f Database/reports/movement-check.sql
WITH bounds AS (
    SELECT coalesce(nullif(:'from', '')::bigint, 0) AS lo,
           coalesce(nullif(:'to', '')::bigint, (SELECT height FROM mirror_watermark)) AS hi,
           (SELECT height FROM mirror_watermark) AS mark
), per AS (
    SELECT m.account_id, m.security_id,
           sum(m.delta) FILTER (WHERE m.height <= b.lo) AS opening,
           sum(m.delta) FILTER (WHERE m.height > b.lo AND m.height <= b.hi) AS moved,
           sum(m.delta) FILTER (WHERE m.height <= b.hi) AS closing
    FROM holding_movements m CROSS JOIN bounds b
    GROUP BY m.account_id, m.security_id
), balances AS (
    SELECT coalesce(p.account_id, h.account_id) AS account_id, coalesce(p.security_id, h.security_id) AS security_id,
           coalesce(p.opening, 0) AS opening, coalesce(p.moved, 0) AS moved, coalesce(p.closing, 0) AS closing,
           h.shares AS current
    FROM per p FULL JOIN holdings h ON h.account_id = p.account_id AND h.security_id = p.security_id
)
SELECT 'balance' AS kind, x.account_id AS account, x.security_id AS security, NULL::numeric AS trade_id,
       x.opening, x.moved, x.closing,
       CASE WHEN x.opening + x.moved <> x.closing THEN 'opening + movements <> closing'
            WHEN b.hi = b.mark AND x.closing <> coalesce(x.current, 0) THEN 'closing <> holdings (' || coalesce(x.current, 0) || ')'
            ELSE 'ok' END AS "check"
FROM balances x CROSS JOIN bounds b
WHERE x.opening <> 0 OR x.moved <> 0 OR x.closing <> 0 OR x.current IS NOT NULL
UNION ALL
SELECT 'netting', NULL, n.asset, n.trade_id, NULL, n.net, NULL, 'does not net to zero'
FROM (
    SELECT m.height, m.tx_index, m.trade_id, m.security_id AS asset, sum(m.delta) AS net
    FROM holding_movements m CROSS JOIN bounds b
    WHERE m.kind IN ('trade', 'transfer') AND m.height > b.lo AND m.height <= b.hi
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT m.height, m.tx_index, m.trade_id, 0, sum(m.delta)
    FROM cash_movements m CROSS JOIN bounds b
    WHERE m.kind = 'trade' AND m.height > b.lo AND m.height <= b.hi
    GROUP BY 1, 2, 3, 4
) n
WHERE n.net <> 0
ORDER BY 1, 2, 3, 4;
