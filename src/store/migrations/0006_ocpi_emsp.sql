-- roambridge store, OCPI eMSP side (src/store/ocpi_emsp.rs): the objects OCPI CPO partners
-- push to our RECEIVER interfaces (Locations with their EVSEs and Connectors, Sessions, CDRs).
-- Independent of every other OCPI table, so it does not depend on migration 0005, and
-- written with IF NOT EXISTS so that it can run again harmlessly if the migration list is
-- renumbered when branches merge.

CREATE TABLE IF NOT EXISTS ocpi_emsp_object (
    kind          TEXT NOT NULL,          -- 'location', 'session' or 'cdr'
    country_code  TEXT NOT NULL,          -- the owning CPO's country code, upper case
    party_id      TEXT NOT NULL,          -- the owning CPO's party id, upper case
    id            TEXT NOT NULL,          -- the object id, upper case (CiString)
    last_updated  INTEGER NOT NULL,       -- the object's last_updated, UTC milliseconds
    json          TEXT NOT NULL,          -- the object as stored (Location with EVSEs/Connectors)
    PRIMARY KEY (kind, country_code, party_id, id)
) STRICT;

CREATE INDEX IF NOT EXISTS ocpi_emsp_object_updated
    ON ocpi_emsp_object (kind, last_updated);
