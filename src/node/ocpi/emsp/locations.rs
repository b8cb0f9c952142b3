//! Locations RECEIVER (ocpi-2.2.1.md §4.1): `GET`/`PUT`/`PATCH` on
//! `receiver/locations/{cc}/{pid}/{location_id}[/{evse_uid}[/{connector_id}]]`.
//!
//! A Location is stored as one record holding its EVSEs and Connectors. Every write changes
//! the record's JSON at the addressed level, then parses the whole Location again (so a
//! merged PATCH is checked against the model like a PUT) and raises the `last_updated` of the
//! EVSE and Location above a changed child to the child's (§1.11).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::{Client, Written, body_value, client, json, merge, modify, same_id, typed};
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::ocpi::v221::locations::{
    Connector, ConnectorPatch, Evse, EvsePatch, Location, LocationPatch,
};
use crate::ocpi::v221::types::DateTime;
use crate::store::ocpi_emsp::{EmspKey, EmspKind, EmspRecord};

/// Adds the Locations RECEIVER routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in [
        "/receiver/locations/{cc}/{pid}/{loc}",
        "/receiver/locations/{cc}/{pid}/{loc}/{evse}",
        "/receiver/locations/{cc}/{pid}/{loc}/{evse}/{conn}",
    ] {
        cfg.service(
            web::resource([path.to_owned(), format!("{path}/")])
                .route(web::get().to(get))
                .route(web::put().to(|r, b, s| write(r, b, s, false)))
                .route(web::patch().to(|r, b, s| write(r, b, s, true))),
        );
    }
}

/// The addressed level: Location, EVSE or Connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `country_code` of the URL.
    pub cc: String,
    /// `party_id` of the URL.
    pub pid: String,
    /// `location_id`.
    pub location: String,
    /// `evse_uid`, for an EVSE or Connector.
    pub evse: Option<String>,
    /// `connector_id`, for a Connector.
    pub connector: Option<String>,
}

impl Target {
    fn of(req: &HttpRequest) -> Self {
        let get = |n: &str| req.match_info().get(n).map(str::to_owned);
        Self {
            cc: get("cc").unwrap_or_default(),
            pid: get("pid").unwrap_or_default(),
            location: get("loc").unwrap_or_default(),
            evse: get("evse"),
            connector: get("conn"),
        }
    }

    fn key(&self) -> EmspKey {
        EmspKey::new(EmspKind::Location, &self.cc, &self.pid, &self.location)
    }
}

/// A write at one level.
#[derive(Debug, Clone)]
pub enum Change {
    /// A full object (already checked against its type), replacing or adding.
    Put(Value),
    /// A PATCH body (already checked against its patch type).
    Patch(Value),
}

fn uid_is(v: &Value, member: &str, id: &str) -> bool {
    v.get(member)
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case(id))
}

/// The child list `member` of `parent` and the index of the element whose `key` is `id`.
fn child<'a>(
    parent: &'a mut Value,
    member: &str,
    key: &str,
    id: &str,
) -> (Option<&'a mut Vec<Value>>, Option<usize>) {
    let Some(obj) = parent.as_object_mut() else {
        return (None, None);
    };
    let list = obj
        .entry(member.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let list = list.as_array_mut();
    let index = list
        .as_ref()
        .and_then(|l| l.iter().position(|v| uid_is(v, key, id)));
    (list, index)
}

fn updated_at(v: &Value) -> Option<DateTime> {
    v.get("last_updated")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse(s).ok())
}

fn unknown(what: &str, target: &Target) -> OcpiError {
    OcpiError::UnknownLocation(format!(
        "no {what} stored for {}/{}/{}{}{}",
        target.cc,
        target.pid,
        target.location,
        target
            .evse
            .as_deref()
            .map(|e| format!("/{e}"))
            .unwrap_or_default(),
        target
            .connector
            .as_deref()
            .map(|c| format!("/{c}"))
            .unwrap_or_default()
    ))
}

/// Applies `change` at `target` to the stored Location (pure): the record to store (none for
/// a stale write) and what happened.
pub fn apply(
    stored: Option<&Value>,
    target: &Target,
    change: &Change,
) -> Result<(Option<Value>, Written), OcpiError> {
    let (incoming_at, is_patch) = match change {
        Change::Put(v) | Change::Patch(v) => (updated_at(v), matches!(change, Change::Patch(_))),
    };
    let mut location = match (stored, &target.evse, change) {
        (Some(v), _, _) => v.clone(),
        (None, None, Change::Put(_)) => Value::Object(serde_json::Map::new()),
        (None, _, _) => return Err(unknown("Location", target)),
    };
    let created;
    {
        let slot: &mut Value;
        match (&target.evse, &target.connector) {
            (None, _) => {
                created = stored.is_none();
                slot = &mut location;
            }
            (Some(evse), conn) => {
                let (list, index) = child(&mut location, "evses", "uid", evse);
                let list = list.ok_or_else(|| unknown("Location", target))?;
                let evse_slot = match index {
                    Some(i) => list.get_mut(i),
                    None if conn.is_none() && !is_patch => {
                        list.push(Value::Object(serde_json::Map::new()));
                        list.last_mut()
                    }
                    None => None,
                }
                .ok_or_else(|| unknown("EVSE", target))?;
                match conn {
                    None => {
                        created = index.is_none();
                        slot = evse_slot;
                    }
                    Some(conn) => {
                        let (list, index) = child(evse_slot, "connectors", "id", conn);
                        let list = list.ok_or_else(|| unknown("EVSE", target))?;
                        created = index.is_none();
                        slot = match index {
                            Some(i) => list.get_mut(i),
                            None if !is_patch => {
                                list.push(Value::Object(serde_json::Map::new()));
                                list.last_mut()
                            }
                            None => None,
                        }
                        .ok_or_else(|| unknown("Connector", target))?;
                    }
                }
            }
        }
        if !created
            && let (Some(old), Some(new)) = (updated_at(slot), &incoming_at)
            && *new < old
        {
            return Ok((None, Written::Stale));
        }
        match change {
            Change::Put(v) => *slot = v.clone(),
            Change::Patch(v) => merge(slot, v),
        }
    }
    let mut parsed: Location = typed(&location)?;
    same_id("country_code", parsed.country_code.as_str(), &target.cc)?;
    same_id("party_id", parsed.party_id.as_str(), &target.pid)?;
    same_id("id", parsed.id.as_str(), &target.location)?;
    if let Some(at) = incoming_at {
        if let Some(uid) = &target.evse
            && let Some(evse) = parsed
                .evses
                .iter_mut()
                .flatten()
                .find(|e| e.uid.eq_ignore_case(uid))
            && evse.last_updated < at
        {
            evse.last_updated = at.clone();
        }
        if parsed.last_updated < at {
            parsed.last_updated = at;
        }
    }
    let written = if created {
        Written::Created
    } else {
        Written::Updated
    };
    Ok((Some(json(&parsed)?), written))
}

/// Checks a request body against the type of its level and the URL ids.
fn change_of(body: &[u8], target: &Target, patch: bool) -> Result<Change, OcpiError> {
    let value = body_value(body)?;
    let check = |member: &str, expected: &str| match value.get(member).and_then(Value::as_str) {
        Some(id) => same_id(member, id, expected),
        None => Ok(()),
    };
    match (&target.evse, &target.connector, patch) {
        (None, _, false) => {
            let _: Location = parse_body(body)?;
        }
        (None, _, true) => {
            let _: LocationPatch = parse_body(body)?;
        }
        (Some(_), None, false) => {
            let _: Evse = parse_body(body)?;
        }
        (Some(_), None, true) => {
            let _: EvsePatch = parse_body(body)?;
        }
        (Some(_), Some(_), false) => {
            let _: Connector = parse_body(body)?;
        }
        (Some(_), Some(_), true) => {
            let _: ConnectorPatch = parse_body(body)?;
        }
    }
    match (&target.evse, &target.connector) {
        (None, _) => {
            check("country_code", &target.cc)?;
            check("party_id", &target.pid)?;
            check("id", &target.location)?;
        }
        (Some(evse), None) => check("uid", evse)?,
        (Some(_), Some(conn)) => check("id", conn)?,
    }
    Ok(if patch {
        Change::Patch(value)
    } else {
        Change::Put(value)
    })
}

/// Applies `change` at `target` in one transaction and offers the stored Location over OICP.
pub async fn store(
    state: &NodeState,
    target: Target,
    change: Change,
) -> Result<Written, OcpiError> {
    let key = target.key();
    let (written, stored) = modify(state, key, move |stored| {
        let old = stored.as_ref().map(|r| &r.json);
        let (value, written) = apply(old, &target, &change)?;
        if value.is_some() && value.as_ref() == old {
            return Ok((None, (Written::Stale, None)));
        }
        let record = value.map(|json| {
            let at = updated_at(&json).map_or(0, |d| d.value().timestamp_millis());
            EmspRecord {
                last_updated: at,
                json,
            }
        });
        let kept = record.as_ref().map(|r| r.json.clone());
        Ok((record, (written, kept)))
    })
    .await?;
    if let Some(location) = stored.as_ref().map(typed::<Location>).transpose()? {
        super::offer::location_changed(state, &location).await;
    } else {
        tracing::info!("an older Location version was acknowledged and not applied");
    }
    Ok(written)
}

async fn write(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    patch: bool,
) -> HttpResponse {
    let result = async {
        let client: Client = client(&req, &state)?;
        let target = Target::of(&req);
        client.owner(&target.cc, &target.pid)?;
        let change = change_of(&body, &target, patch)?;
        let written = store(&state, target, change).await?;
        Ok(Reply::with_status::<()>(written.http(), None).routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}

/// The object at `target` in a stored Location.
pub fn find(location: &Value, target: &Target) -> Option<Value> {
    let Some(evse) = &target.evse else {
        return Some(location.clone());
    };
    let evse = location
        .get("evses")?
        .as_array()?
        .iter()
        .find(|v| uid_is(v, "uid", evse))?;
    let Some(conn) = &target.connector else {
        return Some(evse.clone());
    };
    evse.get("connectors")?
        .as_array()?
        .iter()
        .find(|v| uid_is(v, "id", conn))
        .cloned()
}

async fn get(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let target = Target::of(&req);
        client.owner(&target.cc, &target.pid)?;
        let stored = state.store.ocpi_emsp_get(target.key()).await?;
        let found = stored
            .and_then(|r| find(&r.json, &target))
            .ok_or_else(|| OcpiError::NotFound("no such object stored here".to_owned()))?;
        Ok(Reply::ok(&found).routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(evse: Option<&str>, conn: Option<&str>) -> Target {
        Target {
            cc: "NL".into(),
            pid: "TNM".into(),
            location: "LOC1".into(),
            evse: evse.map(str::to_owned),
            connector: conn.map(str::to_owned),
        }
    }

    fn connector(id: &str, at: &str) -> Value {
        json!({"id": id, "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
               "max_voltage": 230, "max_amperage": 16, "last_updated": at})
    }

    fn evse(uid: &str, at: &str) -> Value {
        json!({"uid": uid, "evse_id": "NL*TNM*E1", "status": "AVAILABLE",
               "connectors": [connector("1", at)], "last_updated": at})
    }

    fn location(at: &str) -> Value {
        json!({"country_code": "NL", "party_id": "TNM", "id": "LOC1", "publish": true,
               "address": "Street 1", "city": "Town", "country": "NLD",
               "coordinates": {"latitude": "52.37403", "longitude": "4.88969"},
               "time_zone": "Europe/Amsterdam", "evses": [evse("E1", at)], "last_updated": at})
    }

    #[test]
    fn puts_create_and_patches_merge_and_bump_parents() {
        let t0 = "2024-01-01T00:00:00Z";
        let (loc, w) = apply(None, &target(None, None), &Change::Put(location(t0))).unwrap();
        assert_eq!(w, Written::Created);
        let loc = loc.unwrap();
        // A new EVSE under it.
        let (loc, w) = apply(
            Some(&loc),
            &target(Some("e2"), None),
            &Change::Put(evse("E2", "2024-01-02T00:00:00Z")),
        )
        .unwrap();
        assert_eq!(w, Written::Created);
        let loc = loc.unwrap();
        assert_eq!(loc["evses"].as_array().unwrap().len(), 2);
        assert_eq!(loc["last_updated"], "2024-01-02T00:00:00Z");
        // A connector PATCH bumps EVSE and Location.
        let (loc, w) = apply(
            Some(&loc),
            &target(Some("e1"), Some("1")),
            &Change::Patch(json!({"max_amperage": 32, "last_updated": "2024-01-03T00:00:00Z"})),
        )
        .unwrap();
        assert_eq!(w, Written::Updated);
        let loc = loc.unwrap();
        assert_eq!(loc["evses"][0]["connectors"][0]["max_amperage"], 32);
        assert_eq!(loc["evses"][0]["last_updated"], "2024-01-03T00:00:00Z");
        assert_eq!(loc["last_updated"], "2024-01-03T00:00:00Z");
        // An older status PATCH is not applied.
        let (none, w) = apply(
            Some(&loc),
            &target(Some("E1"), None),
            &Change::Patch(json!({"status": "CHARGING", "last_updated": "2023-01-01T00:00:00Z"})),
        )
        .unwrap();
        assert_eq!((none, w), (None, Written::Stale));
        // Unknown levels on PATCH, and under an unknown Location on PUT: 2003.
        for (t, change) in [
            (
                target(Some("E9"), None),
                Change::Patch(json!({"last_updated": t0})),
            ),
            (
                target(Some("E1"), Some("9")),
                Change::Patch(json!({"last_updated": t0})),
            ),
        ] {
            assert_eq!(
                apply(Some(&loc), &t, &change).unwrap_err().status_code(),
                2003
            );
        }
        let orphan = apply(
            None,
            &target(Some("E1"), None),
            &Change::Put(evse("E1", t0)),
        );
        assert_eq!(orphan.unwrap_err().status_code(), 2003);
        // A PATCH that breaks the model is refused with its path.
        let e = apply(
            Some(&loc),
            &target(None, None),
            &Change::Patch(json!({"publish": "yes", "last_updated": "2024-02-01T00:00:00Z"})),
        )
        .unwrap_err();
        assert_eq!(e.status_code(), 2001);
        assert_eq!(
            find(&loc, &target(Some("E1"), Some("1"))).unwrap()["max_amperage"],
            32
        );
        assert!(find(&loc, &target(Some("E3"), None)).is_none());
    }

    #[test]
    fn bodies_are_checked_against_their_level_and_the_url() {
        let t = target(None, None);
        let missing = change_of(br#"{"publish": false}"#, &t, true).unwrap_err();
        assert_eq!(missing.status_code(), 2001);
        assert!(
            missing.status_message().contains("last_updated"),
            "{missing}"
        );
        let mut other = location("2024-01-01T00:00:00Z");
        other["id"] = json!("LOC2");
        let body = serde_json::to_vec(&other).unwrap();
        assert_eq!(change_of(&body, &t, false).unwrap_err().status_code(), 2001);
        assert_eq!(change_of(b"{", &t, false).unwrap_err().http_status(), 400);
        let lower =
            serde_json::to_vec(&json!({"uid": "e1", "last_updated": "2024-01-01T00:00:00Z"}))
                .unwrap();
        assert!(change_of(&lower, &target(Some("E1"), None), true).is_ok());
    }
}
