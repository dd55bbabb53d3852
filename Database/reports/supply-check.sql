-- Issued supply against the sum of current holdings, per security. Must be empty.
--   psql -f Database/reports/supply-check.sql
SELECT s.security_id AS security, s.symbol, s.issued, coalesce(sum(h.shares), 0) AS held
FROM securities s
LEFT JOIN holdings h ON h.security_id = s.security_id
GROUP BY s.security_id, s.symbol, s.issued
HAVING s.issued <> coalesce(sum(h.shares), 0)
ORDER BY s.security_id;
