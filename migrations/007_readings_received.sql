-- A dashboard that reconnects asks for what was stored while it was away: readings by the time
-- they were received. Readings are appended in received order, so a BRIN index (a few pages for
-- millions of rows, almost free to maintain) finds the recent ones; the patient filter does the
-- rest.
CREATE INDEX readings_received ON readings USING brin (received_at);
