-- The hash chain, from SQL alone. Must be empty. A row names a block whose
-- stored hash is not the SHA-256 of its header columns (canonical encoding:
-- version byte, height, previous hash, view, sequence, time, transactions root,
-- state root; integers big-endian as int8send gives them), or whose previous
-- hash is not its predecessor's hash (block 1: the genesis hash).
--   psql -f Database/reports/chain-check.sql
WITH recomputed AS (
    SELECT b.height, b.hash, b.previous_hash,
           sha256(set_byte('\x00'::bytea, 0, b.header_version) || int8send(b.height) || b.previous_hash
                  || int8send(b.view) || int8send(b.sequence) || int8send(b.time_us)
                  || b.transactions_root || b.state_root) AS header_hash,
           coalesce(p.hash, CASE WHEN b.height = 1 THEN (SELECT genesis_hash FROM mirror_watermark) END) AS expected_previous
    FROM blocks b
    LEFT JOIN blocks p ON p.height = b.height - 1
)
SELECT height,
       CASE WHEN hash <> header_hash THEN 'hash does not match the header' ELSE 'previous hash does not chain' END AS problem,
       encode(hash, 'hex') AS hash,
       encode(CASE WHEN hash <> header_hash THEN header_hash ELSE expected_previous END, 'hex') AS expected
FROM recomputed
WHERE hash <> header_hash OR previous_hash IS DISTINCT FROM expected_previous
ORDER BY height;
