-- roambridge store, schema version 4: OCPI credentials (src/store/ocpi.rs).

-- Tokens A we issued for partners to register with us: single use, deleted by the
-- registration they open.
CREATE TABLE ocpi_token_a (
    token      TEXT PRIMARY KEY,
    peer_role  TEXT,                      -- 'cpo'/'emp' when issued for a known peer, else NULL
    peer_id    TEXT,                      -- that peer's ID as spelled, else NULL
    created_at INTEGER NOT NULL           -- UTC milliseconds
) STRICT;

-- One registered OCPI connection per peer (one token pair, one version, its endpoints).
CREATE TABLE ocpi_connection (
    peer_role  TEXT NOT NULL,             -- 'cpo' or 'emp'
    peer_key   TEXT NOT NULL,             -- canonical OperatorID / ProviderID
    token_in   TEXT NOT NULL UNIQUE,      -- the token the partner presents to us
    json       TEXT NOT NULL,             -- the whole connection record
    PRIMARY KEY (peer_role, peer_key)
) STRICT;
