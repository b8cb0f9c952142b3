-- roambridge store, schema version 5: the OCPI CPO side (src/store/ocpi_cpo.rs).

-- The translated OCPI view of the own CPOs' EVSE data and status: one row per Location, its
-- whole OCPI JSON ready to serve, rebuilt when the backend pushes EVSE data and patched when it
-- pushes status.
CREATE TABLE ocpi_cpo_location (
    location_key TEXT PRIMARY KEY,        -- 'CC/PID/LOCATION_ID', upper case
    operator_key TEXT NOT NULL,           -- canonical OperatorID whose records made it
    country_code TEXT NOT NULL,           -- upper case
    party_id     TEXT NOT NULL,           -- upper case
    location_id  TEXT NOT NULL,           -- as served
    last_updated INTEGER NOT NULL,        -- UTC milliseconds, = the JSON's last_updated
    canon        TEXT NOT NULL,           -- hash of the JSON with every last_updated blanked
    json         TEXT NOT NULL            -- the OCPI Location
) STRICT;
CREATE INDEX ocpi_cpo_location_updated ON ocpi_cpo_location (last_updated, location_key);
CREATE INDEX ocpi_cpo_location_party
    ON ocpi_cpo_location (country_code, party_id, last_updated, location_key);
CREATE INDEX ocpi_cpo_location_operator ON ocpi_cpo_location (operator_key);

-- Which Location holds an EVSE (for status updates).
CREATE TABLE ocpi_cpo_evse (
    evse_key     TEXT PRIMARY KEY,        -- canonical OICP EvseID
    operator_key TEXT NOT NULL,
    location_key TEXT NOT NULL,
    uid          TEXT NOT NULL            -- the OCPI EVSE uid
) STRICT, WITHOUT ROWID;
CREATE INDEX ocpi_cpo_evse_operator ON ocpi_cpo_evse (operator_key);

-- Tokens eMSP partners pushed to us (Tokens module, Receiver interface).
CREATE TABLE ocpi_cpo_token (
    country_code TEXT NOT NULL,           -- the eMSP's, upper case
    party_id     TEXT NOT NULL,           -- upper case
    uid          TEXT NOT NULL,           -- upper case (CiString)
    token_type   TEXT NOT NULL,           -- RFID, APP_USER, ...
    last_updated INTEGER NOT NULL,
    json         TEXT NOT NULL,           -- the OCPI Token
    PRIMARY KEY (country_code, party_id, uid, token_type)
) STRICT, WITHOUT ROWID;
CREATE INDEX ocpi_cpo_token_uid ON ocpi_cpo_token (uid);
