-- roambridge store, schema version 2: the durable outbox (issue 5).
--
-- Every message the node must deliver after it acknowledged the request that caused it (CDRs,
-- charging notifications, EVSE data/status/pricing and authentication data pushes) is written
-- here in the same transaction as the store write it belongs to. The delivery worker deletes a
-- row only after the receiver answered positively. See src/store/outbox.rs.

-- One sequence shared by `outbox` and `outbox_status`: the order in which messages for a
-- target were queued. `last` is the last number handed out.
CREATE TABLE outbox_sequence (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    last INTEGER NOT NULL
) STRICT;
INSERT INTO outbox_sequence (only, last) VALUES (1, 0);

-- Where messages go: a peer, an own party's backend, or the clearing house for an own party,
-- by role and canonical ID. URLs and tokens are not stored: the registry (or the clearing
-- house configuration) resolves the target when a message is sent.
CREATE TABLE outbox_target (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,              -- 'peer' | 'backend' | 'hub'
    role       TEXT NOT NULL,              -- 'cpo' | 'emp'
    target_key TEXT NOT NULL,              -- canonical OperatorID / ProviderID
    partner_id TEXT NOT NULL,              -- the ID as last spelled
    UNIQUE (kind, role, target_key)
) STRICT;

-- Messages, pending or dead (the dead-letter list).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,   -- stable identity (admin API, CLI): the first seq
    seq             INTEGER NOT NULL UNIQUE, -- order; a retried dead letter gets a new one
    target          INTEGER NOT NULL,      -- outbox_target.id
    fallback        INTEGER,               -- outbox_target.id tried when the target does not answer
    operation       TEXT NOT NULL,         -- operation name, e.g. 'ChargeDetailRecord'
    path            TEXT NOT NULL,         -- below the target's base URL
    body            BLOB NOT NULL,         -- the JSON body
    process_id      TEXT NOT NULL,
    state           TEXT NOT NULL,         -- 'pending' | 'dead'
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    queued_at       INTEGER NOT NULL,      -- creation or last retry: the dead-letter age counts from here
    next_attempt_at INTEGER NOT NULL,
    dead_at         INTEGER
) STRICT;
CREATE INDEX outbox_target_state ON outbox (target, state, seq);

-- Status updates (eRoamingPushEvseStatus `update`) waiting for a target, coalesced per EVSE:
-- the latest status wins and takes a new seq, so 1,000 changes on 10 EVSEs leave 10 rows.
CREATE TABLE outbox_status (
    target       INTEGER NOT NULL,         -- outbox_target.id
    seq          INTEGER NOT NULL,
    fallback     INTEGER,                  -- outbox_target.id tried when the target does not answer
    evse_key     TEXT NOT NULL,            -- canonical EvseID
    operator_key TEXT NOT NULL,
    evse_id      TEXT NOT NULL,            -- as pushed
    status       TEXT NOT NULL,
    extra        TEXT,                     -- unknown members of the record, NULL if none
    path         TEXT NOT NULL,
    process_id   TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,         -- when this (latest) status was queued
    PRIMARY KEY (target, seq)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX outbox_status_evse ON outbox_status (target, evse_key);

-- Messages handed over to a fallback target (the clearing house of `direct-then-clearing-house`)
-- because their target did not answer, so that the same push falling back for several peers
-- reaches the fallback once. Rows older than the dead-letter age are removed.
CREATE TABLE outbox_handover (
    target     INTEGER NOT NULL,           -- outbox_target.id of the fallback
    operation  TEXT NOT NULL,
    path       TEXT NOT NULL,
    process_id TEXT NOT NULL,
    body_hash  INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (target, operation, path, process_id, body_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_handover_at ON outbox_handover (at);
