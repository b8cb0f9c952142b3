-- roambridge store, schema version 3: status updates queued once per EVSE, not per target.
--
-- `outbox_status` held one coalesced row per (target, EVSE), so a status change cost one row
-- per EMP peer. It is replaced by one shared row per (operator, EVSE) in `outbox_change`
-- (latest wins, numbered from `outbox_sequence`) and one cursor per (target, operator) in
-- `outbox_cursor`: a target's pending status updates are the changes of the operator numbered
-- in (cursor_seq, until_seq]. See src/store/outbox.rs.

-- The latest queued status of each EVSE: a newer status replaces it and takes a new seq.
CREATE TABLE outbox_change (
    operator_key TEXT NOT NULL,
    evse_key     TEXT NOT NULL,            -- canonical EvseID
    seq          INTEGER NOT NULL,         -- from outbox_sequence
    evse_id      TEXT NOT NULL,            -- as pushed
    status       TEXT NOT NULL,
    extra        TEXT,                     -- unknown members of the record, NULL if none
    process_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,         -- when this (latest) status was queued
    PRIMARY KEY (operator_key, evse_key)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX outbox_change_seq ON outbox_change (operator_key, seq);

-- Per (target, operator): which changes the target still has to receive.
CREATE TABLE outbox_cursor (
    target       INTEGER NOT NULL,         -- outbox_target.id
    operator_key TEXT NOT NULL,
    cursor_seq   INTEGER NOT NULL,         -- the highest seq delivered (handed over, dead) to it
    until_seq    INTEGER NOT NULL,         -- the last seq meant for it: 9223372036854775807
                                           -- while the target is in the operator's fan-out
    fallback     INTEGER,                  -- outbox_target.id tried when the target does not answer
    path         TEXT NOT NULL,            -- below the target's base URL
    attempts     INTEGER NOT NULL DEFAULT 0,  -- failed attempts of the pending batch
    last_error   TEXT,
    PRIMARY KEY (target, operator_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_cursor_operator ON outbox_cursor (operator_key, cursor_seq);

-- Carry over what `outbox_status` held: each EVSE's latest queued status, and per (target,
-- operator) a cursor just below its oldest row (a target may get a latest status it had
-- already received: delivery is at least once).
INSERT INTO outbox_change (operator_key, evse_key, seq, evse_id, status, extra, process_id,
                           created_at)
SELECT operator_key, evse_key, seq, evse_id, status, extra, process_id, created_at
FROM outbox_status s
WHERE seq = (SELECT MAX(seq) FROM outbox_status m WHERE m.evse_key = s.evse_key);

INSERT INTO outbox_cursor (target, operator_key, cursor_seq, until_seq, fallback, path,
                           attempts, last_error)
SELECT g.target, g.operator_key, g.first - 1, 9223372036854775807,
       (SELECT fallback FROM outbox_status l WHERE l.target = g.target
            AND l.operator_key = g.operator_key ORDER BY seq DESC LIMIT 1),
       (SELECT path FROM outbox_status l WHERE l.target = g.target
            AND l.operator_key = g.operator_key ORDER BY seq DESC LIMIT 1),
       g.attempts, NULL
FROM (SELECT target, operator_key, MIN(seq) AS first, MAX(attempts) AS attempts
      FROM outbox_status GROUP BY target, operator_key) g;

DROP TABLE outbox_status;
