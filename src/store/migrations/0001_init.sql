-- roambridge store, schema version 1.
--
-- Conventions: *_key columns hold canonical IDs (upper case, separators removed, see
-- src/oicp/v23/ids.rs `canonical()`); `json` columns hold the OICP record exactly as the
-- wire types serialize it; times are UTC milliseconds since the Unix epoch unless a column
-- says otherwise; booleans are 0/1.

-- Peers registered through the admin API or the configuration file (config::RawPeer as JSON).
CREATE TABLE peer (
    role      TEXT NOT NULL,               -- 'cpo' | 'emp'
    peer_key  TEXT NOT NULL,               -- canonical OperatorID / ProviderID
    json      TEXT NOT NULL,
    PRIMARY KEY (role, peer_key)
) STRICT, WITHOUT ROWID;

-- Every operator that pushed something: its spelling of the OperatorID and its name.
CREATE TABLE operator (
    operator_key TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL,
    name         TEXT
) STRICT, WITHOUT ROWID;

-- EVSE data (eRoamingPushEvseData). Deleted records stay as tombstones (deleted = 1) so that
-- delta pulls (LastCall) can report them with deltaType delete.
CREATE TABLE evse_data (
    evse_key           TEXT PRIMARY KEY,
    operator_key       TEXT NOT NULL REFERENCES operator (operator_key),
    json               TEXT NOT NULL,      -- EvseDataRecord without deltaType / lastUpdate
    country            TEXT,               -- Address.Country (ISO 3166-1 alpha-3)
    lat                REAL,
    lon                REAL,
    auth_modes         TEXT NOT NULL,      -- JSON array of AuthenticationModes
    accessibility      TEXT,
    calibration_law    TEXT,
    renewable          INTEGER,
    hubject_compatible INTEGER NOT NULL,
    open_24h           INTEGER NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,   -- last time the record came into existence
    last_update        INTEGER NOT NULL    -- last change, including deletion
) STRICT;
CREATE INDEX evse_data_operator ON evse_data (operator_key, deleted);
CREATE INDEX evse_data_last_update ON evse_data (last_update);
CREATE INDEX evse_data_lat ON evse_data (lat);

-- EVSE status (eRoamingPushEvseStatus). Small rows without a JSON copy: the record is
-- (EvseID, EvseStatus) plus, rarely, unknown members kept in `extra`.
CREATE TABLE evse_status (
    evse_key     TEXT PRIMARY KEY,
    evse_id      TEXT NOT NULL,            -- as pushed
    operator_key TEXT NOT NULL REFERENCES operator (operator_key),
    status       TEXT NOT NULL,
    extra        TEXT,                     -- JSON object of unknown members, NULL if none
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX evse_status_operator ON evse_status (operator_key);

-- Pricing products (eRoamingPushPricingProductData): one set per operator and ProviderID or
-- '*', with the set's header (PricingProductData without its records) and its products.
CREATE TABLE pricing_product_set (
    operator_key TEXT NOT NULL REFERENCES operator (operator_key),
    provider_key TEXT NOT NULL,            -- canonical ProviderID or '*'
    header       TEXT NOT NULL,
    changed_at   INTEGER NOT NULL,         -- last change of the header or of any product
    PRIMARY KEY (operator_key, provider_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE pricing_product (
    operator_key TEXT NOT NULL,
    provider_key TEXT NOT NULL,
    product_id   TEXT NOT NULL,            -- ProductID, case-sensitive free text
    json         TEXT NOT NULL,            -- PricingProductDataRecord
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (operator_key, provider_key, product_id),
    FOREIGN KEY (operator_key, provider_key)
        REFERENCES pricing_product_set (operator_key, provider_key) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- EVSE pricing (eRoamingPushEVSEPricing), keyed by EVSE and ProviderID or '*'.
CREATE TABLE evse_pricing (
    evse_key     TEXT NOT NULL,
    provider_key TEXT NOT NULL,
    operator_key TEXT NOT NULL REFERENCES operator (operator_key),
    json         TEXT NOT NULL,            -- EvsePricing
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (evse_key, provider_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX evse_pricing_operator ON evse_pricing (operator_key, provider_key);

-- When an operator's EVSE pricing for a provider (or '*') last changed, deletions included.
CREATE TABLE evse_pricing_change (
    operator_key TEXT NOT NULL,
    provider_key TEXT NOT NULL,
    changed_at   INTEGER NOT NULL,
    PRIMARY KEY (operator_key, provider_key)
) STRICT, WITHOUT ROWID;

-- Authentication data (eRoamingPushAuthenticationData) of offline EMPs.
CREATE TABLE auth_data (
    provider_key TEXT NOT NULL,
    provider_id  TEXT NOT NULL,            -- as pushed
    ident_key    TEXT NOT NULL,            -- 'uid:<UID>' or '<qr|pnc|remote>:<canonical EvcoID>'
    json         TEXT NOT NULL,            -- AuthenticationDataRecord
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (provider_key, ident_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_data_ident ON auth_data (ident_key);

-- Sessions the node took part in. Times are RFC 3339 text (UTC, nanoseconds), which sorts.
CREATE TABLE session (
    session_key            TEXT PRIMARY KEY,   -- lower-case SessionID
    session_id             TEXT NOT NULL,      -- as first seen
    cpo_partner_session_id TEXT,
    emp_partner_session_id TEXT,
    operator_id            TEXT,
    provider_id            TEXT,
    evse_id                TEXT,
    state                  TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX session_cpo_partner ON session (cpo_partner_session_id);

-- Charge detail records, one per session.
CREATE TABLE cdr (
    session_key  TEXT PRIMARY KEY,             -- lower-case SessionID
    operator_key TEXT NOT NULL,
    provider_key TEXT,                         -- NULL: the EMP is not known
    received_at  INTEGER NOT NULL,
    forwarded    INTEGER NOT NULL DEFAULT 0,
    json         TEXT NOT NULL                 -- ChargeDetailRecord
) STRICT;
CREATE INDEX cdr_received ON cdr (received_at, session_key);
CREATE INDEX cdr_provider_received ON cdr (provider_key, received_at, session_key);
