-- roambridge store, schema version 8: a queued status change lives on its status row.
--
-- Version 3 kept each EVSE's latest queued status in `outbox_change`, a copy of the status row
-- (EvseID, status, unknown members) plus its number and Process-ID, inserted by every status
-- push of an own CPO and deleted again once every target had received it. The number and
-- the Process-ID now sit on the `evse_status` row itself: a push writes one row instead of
-- two, nothing is deleted after delivery, and a target's pending status updates are the
-- operator's rows numbered in (cursor_seq, until_seq] (`evse_status_change`, an index of the
-- numbered rows only). See src/store/outbox.rs.

ALTER TABLE evse_status ADD COLUMN change_seq INTEGER;   -- from outbox_sequence; NULL: never queued
ALTER TABLE evse_status ADD COLUMN change_pid TEXT;      -- Process-ID of the push that queued it

-- Carry over each queued change. The status row holds the same or a newer status of the EVSE
-- (a later push without fan-out, or a fullLoad, rewrote it); the newer one is what a target
-- gets (latest wins, as before). A change whose status row was deleted since (a `delete` or
-- `fullLoad` push, queued after it as a message of its own) is not carried over: the target
-- receives that push, which removes the EVSE.
UPDATE evse_status
SET change_seq = ch.seq, change_pid = ch.process_id
FROM outbox_change ch
WHERE ch.operator_key = evse_status.operator_key AND ch.evse_key = evse_status.evse_key;

CREATE INDEX evse_status_change ON evse_status (operator_key, change_seq)
    WHERE change_seq IS NOT NULL;

DROP TABLE outbox_change;
