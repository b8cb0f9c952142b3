-- roambridge store, OCPI CPO side, part 2 (src/store/ocpi_cpo_objects.rs): the Sessions, CDRs
-- and Tariffs the node serves to OCPI eMSP partners (Sender interfaces) and pushes to them,
-- and what the node remembers of each session an OCPI eMSP authorized. Written with
-- IF NOT EXISTS so that it can run again harmlessly if migrations are renumbered at a merge.

-- Sessions, CDRs and Tariffs as served: one row per object and audience.
CREATE TABLE IF NOT EXISTS ocpi_cpo_object (
    kind          TEXT NOT NULL,          -- 'session', 'cdr' or 'tariff'
    object_key    TEXT NOT NULL,          -- 'CC/PID/ID' of the owning CPO, upper case
    audience      TEXT NOT NULL,          -- 'CC/PID' of the eMSP it is for, upper case; '*': every eMSP
    last_updated  INTEGER NOT NULL,       -- the object's last_updated, UTC milliseconds
    json          TEXT NOT NULL,          -- the OCPI object
    PRIMARY KEY (kind, object_key, audience)
) STRICT;
CREATE INDEX IF NOT EXISTS ocpi_cpo_object_page
    ON ocpi_cpo_object (kind, audience, last_updated, object_key);

-- A session whose token an OCPI eMSP authorized in real time (or that the node sent to one).
CREATE TABLE IF NOT EXISTS ocpi_cpo_session_ref (
    session_id        TEXT PRIMARY KEY,   -- the OICP SessionID, lower case (= the OCPI Session id)
    peer              TEXT NOT NULL,      -- the eMSP peer's ProviderID
    emsp              TEXT NOT NULL,      -- 'CC/PID' of the token's eMSP, upper case
    token             TEXT NOT NULL,      -- the OCPI Token (JSON) of the authorization
    identification    TEXT NOT NULL,      -- the OICP Identification (JSON) that started it
    stop_identifications TEXT NOT NULL,   -- JSON list of the OICP Identifications that may stop it
    authorization_reference TEXT,         -- the eMSP's, if it gave one
    location_id       TEXT,               -- the Location and EVSE asked for
    evse_uid          TEXT,
    charging_started  INTEGER NOT NULL DEFAULT 0
) STRICT;
