-- Trades that failed settlement (they stay in their block; nothing moved).
-- Variables: height (empty: the watermark).
--   psql -v height= -f Database/reports/settlement-failures.sql
SELECT t.height, t.tx_index, t.trade_index, t.trade_id, t.security_id AS security, t.buyer, t.seller,
       t.shares, t.price, t.failure_reason
FROM trades t
WHERE t.status = 'failed'
  AND t.height <= coalesce(nullif(:'height', '')::bigint, (SELECT height FROM mirror_watermark))
ORDER BY t.height, t.tx_index, t.trade_index;
