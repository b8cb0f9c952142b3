//! Route rules: for each call to a partner, whether it goes to the peer directly, to the
//! clearing house (the Hubject hub), or to both, and which configured rule decided it.
//!
//! The rules live in the node's configuration file, beside `[node]`, `[[party]]` and
//! `[[peer]]`:
//!
//! ```toml
//! [routing]
//! default = "direct"          # when no rule matches; "direct" if absent
//!
//! [[route]]
//! operation = "cdr"           # an operation (`ChargeDetailRecord`), a group, or "*"
//! partner = "DE-GDF"          # the partner's `OperatorID` or `ProviderID`, or "*" (the default)
//! route = "both"              # direct | clearing-house | direct-then-clearing-house | both
//! ```
//!
//! # Routes
//! See [`RouteKind`]: `direct` (only the peer), `clearing-house` (only the hub),
//! `direct-then-clearing-house` (the peer, the hub on a transport failure or 210/310/320) and
//! `both` (the peer answers, the hub gets a copy).
//!
//! # Operations and groups
//! `operation` is an operation name as on the command line (`Operation::from_name`, any case,
//! also `eRoamingChargeDetailRecord_V2.2`), a [`Group`] name, or `*`.
//!
//! # Partners
//! The partner of an operation is the other side of the call ([`partner_role`]): an EMP
//! (`ProviderID`) for what a CPO sends, a CPO (`OperatorID`) for what an EMP sends. Partner IDs
//! are compared format-insensitively (`DE*GDF`, `DE-GDF` and `degdf` are one partner). A rule's
//! partner only matches partners of the roles for which it is a valid ID: `DE-GDF` is a valid
//! `ProviderID` but not a valid `OperatorID`, so with operation `*` it applies to EMP partners only.
//!
//! # Specificity
//! When several rules match, the most specific wins:
//! 1. a rule naming the partner beats one with partner `*`;
//! 2. with the same partner specificity, an exact operation beats a group, and a group beats
//!    `*`.
//!
//! So the lookup order is (operation, partner), (group, partner), (`*`, partner),
//! (operation, `*`), (group, `*`), (`*`, `*`), then `[routing] default`. As every operation is
//! in exactly one group, at most one rule exists per level, and the winner is unique.
//!
//! # Configuration errors
//! These stop startup with a [`ConfigError`] naming the key (`route[2].operation`):
//! * an unknown operation or group name, or an unknown route (the message lists the valid
//!   names);
//! * a partner ID that is not a valid ID for the partner role of any operation the rule
//!   matches (`remote` with `DE-GDF`: remote calls go to CPOs, `DE-GDF` is no `OperatorID`);
//! * two rules with the same operation and partner (the later one can never match);
//! * a rule every operation of which is taken by more specific rules (a `remote` rule for a
//!   partner with exact rules for both `AuthorizeRemoteStart` and `AuthorizeRemoteStop`).
//!
//! # Resolution
//! [`RoutingTable`] resolves every (operation, partner) beforehand: one row of answers per
//! partner named by some rule and one row for all other partners. [`RoutingTable::resolve`]
//! is a hash lookup of the partner and an array index, whatever the number of rules.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, PartnerId, Role};
use crate::oicp::v23::operations::{Direction, Operation};

/// Which way a call to a partner goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteKind {
    /// `direct`: only the peer; an unknown peer gives 210.
    Direct,
    /// `clearing-house`: only the hub.
    ClearingHouse,
    /// `direct-then-clearing-house`: the peer first; the hub on an unknown peer, a timeout, an
    /// unreachable peer or a 310/320 answer. Never on a business answer.
    DirectThenClearingHouse,
    /// `both`: the peer and the hub; the caller gets the peer's answer, the hub copy is the
    /// proof.
    Both,
}

impl RouteKind {
    /// Every route kind.
    pub const ALL: [Self; 4] = [
        Self::Direct,
        Self::ClearingHouse,
        Self::DirectThenClearingHouse,
        Self::Both,
    ];

    /// The name in the configuration: `direct`, `clearing-house`,
    /// `direct-then-clearing-house`, `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::ClearingHouse => "clearing-house",
            Self::DirectThenClearingHouse => "direct-then-clearing-house",
            Self::Both => "both",
        }
    }

    /// What the route does, in one line (for `routes explain`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Direct => "only the peer; an unknown peer gives 210",
            Self::ClearingHouse => "only the clearing house",
            Self::DirectThenClearingHouse => {
                "the peer first; the clearing house on an unknown peer, a timeout, an unreachable \
                 peer or a 310/320 answer, never on a business answer"
            }
            Self::Both => {
                "the peer and the clearing house; the caller gets the peer's answer, the \
                 clearing house copy is the proof"
            }
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RouteKind {
    type Err = UnknownName;

    /// Parses a route name, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName {
                name: s.to_owned(),
                what: "a route",
                expected: join(Self::ALL.iter().map(|k| k.as_str())),
            })
    }
}

/// A name that is not a route, operation or group; the message lists the valid names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{name}' is not {what}; expected one of: {expected}")]
pub struct UnknownName {
    /// The name given.
    pub name: String,
    /// What was expected (`a route`).
    pub what: &'static str,
    /// The valid names, comma-separated.
    pub expected: String,
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// A named set of operations, usable as a rule's `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// `evse-data`: `PushEvseData`, `PullEvseData`.
    EvseData,
    /// `evse-status`: `PushEvseStatus` and the three status pulls.
    EvseStatus,
    /// `authorization`: `AuthorizeStart`, `AuthorizeStop`, `PushAuthenticationData`.
    Authorization,
    /// `remote`: `AuthorizeRemoteStart`, `AuthorizeRemoteStop`.
    Remote,
    /// `reservation`: `AuthorizeRemoteReservationStart`, `AuthorizeRemoteReservationStop`.
    Reservation,
    /// `notifications`: the four `ChargingNotification*`.
    Notifications,
    /// `cdr`: `ChargeDetailRecord`, `GetChargeDetailRecords`.
    Cdr,
    /// `pricing`: push and pull of pricing products and EVSE pricing.
    Pricing,
}

impl Group {
    /// Every group.
    pub const ALL: [Self; 8] = [
        Self::EvseData,
        Self::EvseStatus,
        Self::Authorization,
        Self::Remote,
        Self::Reservation,
        Self::Notifications,
        Self::Cdr,
        Self::Pricing,
    ];

    /// The name in the configuration, e.g. `evse-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EvseData => "evse-data",
            Self::EvseStatus => "evse-status",
            Self::Authorization => "authorization",
            Self::Remote => "remote",
            Self::Reservation => "reservation",
            Self::Notifications => "notifications",
            Self::Cdr => "cdr",
            Self::Pricing => "pricing",
        }
    }

    /// The group of an operation. Every OICP 2.3 operation has one; `None` is kept for
    /// operations a later version may add without a group.
    pub fn of(op: Operation) -> Option<Self> {
        Some(match op {
            Operation::PushEvseData | Operation::PullEvseData => Self::EvseData,
            Operation::PushEvseStatus
            | Operation::PullEvseStatus
            | Operation::PullEvseStatusById
            | Operation::PullEvseStatusByOperatorId => Self::EvseStatus,
            Operation::AuthorizeStart
            | Operation::AuthorizeStop
            | Operation::PushAuthenticationData => Self::Authorization,
            Operation::AuthorizeRemoteStart | Operation::AuthorizeRemoteStop => Self::Remote,
            Operation::AuthorizeRemoteReservationStart
            | Operation::AuthorizeRemoteReservationStop => Self::Reservation,
            Operation::ChargingNotificationStart
            | Operation::ChargingNotificationProgress
            | Operation::ChargingNotificationEnd
            | Operation::ChargingNotificationError => Self::Notifications,
            Operation::ChargeDetailRecord | Operation::GetChargeDetailRecords => Self::Cdr,
            Operation::PushPricingProductData
            | Operation::PushEvsePricing
            | Operation::PullPricingProductData
            | Operation::PullEvsePricing => Self::Pricing,
        })
    }

    /// The operations of the group, in the order of [`Operation::ALL`].
    pub fn operations(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .iter()
            .copied()
            .filter(move |op| Self::of(*op) == Some(self))
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Group {
    type Err = UnknownName;

    /// Parses a group name, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName {
                name: s.to_owned(),
                what: "a group",
                expected: join(Self::ALL.iter().map(|g| g.as_str())),
            })
    }
}

/// The role of the partner of an operation: the other side of the call. What a CPO sends
/// (`CpoToHub`, `CpoToEmp`) goes to an EMP; what an EMP sends (`EmpToHub`, `EmpToCpo`) to a
/// CPO.
pub fn partner_role(op: Operation) -> Role {
    match op.direction() {
        Direction::CpoToHub | Direction::CpoToEmp => Role::Emp,
        Direction::EmpToHub | Direction::EmpToCpo => Role::Cpo,
    }
}

/// The `operation` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationMatch {
    /// One operation.
    Exact(Operation),
    /// The operations of a group.
    Group(Group),
    /// `*`: every operation.
    Any,
}

impl OperationMatch {
    /// Whether it matches `op`.
    pub fn matches(self, op: Operation) -> bool {
        match self {
            Self::Exact(o) => o == op,
            Self::Group(g) => Group::of(op) == Some(g),
            Self::Any => true,
        }
    }

    /// The operations it matches, in the order of [`Operation::ALL`].
    pub fn operations(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .iter()
            .copied()
            .filter(move |op| self.matches(*op))
    }

    /// Whether some operation it matches has a partner of `role`.
    pub fn reaches(self, role: Role) -> bool {
        self.operations().any(|op| partner_role(op) == role)
    }

    /// 0 for an exact operation, 1 for a group, 2 for `*` (lower is more specific).
    fn level(self) -> usize {
        match self {
            Self::Exact(_) => 0,
            Self::Group(_) => 1,
            Self::Any => 2,
        }
    }
}

impl fmt::Display for OperationMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(op) => f.write_str(op.name()),
            Self::Group(g) => f.write_str(g.as_str()),
            Self::Any => f.write_str("*"),
        }
    }
}

impl FromStr for OperationMatch {
    type Err = UnknownName;

    /// Parses `*`, a group name or an operation name (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t == "*" {
            return Ok(Self::Any);
        }
        if let Ok(g) = t.parse::<Group>() {
            return Ok(Self::Group(g));
        }
        Operation::from_name(t)
            .map(Self::Exact)
            .ok_or_else(|| UnknownName {
                name: s.to_owned(),
                what: "an operation or group",
                expected: format!(
                    "*, the groups {}, or the operations {}",
                    join(Group::ALL.iter().map(|g| g.as_str())),
                    join(Operation::ALL.iter().map(|o| o.name()))
                ),
            })
    }
}

/// The partner of a rule: an ID compared format-insensitively, valid for the partner roles it
/// applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerKey {
    written: String,
    canonical: Box<str>,
    cpo: bool,
    emp: bool,
}

impl PartnerKey {
    /// Parses a rule's partner ID for the operations of `operation`: it must be a valid ID
    /// (`OperatorID` for CPO partners, `ProviderID` for EMP partners) for at least one of their
    /// partner roles, and then applies to the roles it is valid for. The error is the problem
    /// text.
    pub fn parse(id: &str, operation: OperationMatch) -> Result<Self, String> {
        let parsed = [Role::Cpo, Role::Emp].map(|role| PartnerId::parse(role, id));
        let [cpo, emp] = [Role::Cpo, Role::Emp].map(|role| operation.reaches(role));
        let applies = [cpo && parsed[0].is_ok(), emp && parsed[1].is_ok()];
        let problems = || {
            parsed
                .iter()
                .filter_map(|p| p.as_ref().err().map(String::as_str))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if parsed.iter().all(Result::is_err) {
            return Err(format!(
                "not a partner ID (an OperatorID or a ProviderID): {}",
                problems()
            ));
        }
        if !applies.contains(&true) {
            let partners = if cpo { "CPOs" } else { "EMPs" };
            return Err(format!(
                "can never match: {operation} goes to {partners} only, and {}",
                problems()
            ));
        }
        let canonical = parsed
            .iter()
            .zip(applies)
            .find_map(|(p, applies)| p.as_ref().ok().filter(|_| applies))
            .map_or_else(String::new, PartnerId::canonical);
        Ok(Self {
            written: id.to_owned(),
            canonical: canonical.into_boxed_str(),
            cpo: applies[0],
            emp: applies[1],
        })
    }

    /// The ID as written in the rule.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The format-insensitive key (`DEGDF` for `DE*GDF` and `DE-GDF`).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Whether it is a valid ID for partners of `role` (and so applies to them).
    pub fn applies_to(&self, role: Role) -> bool {
        match role {
            Role::Cpo => self.cpo,
            Role::Emp => self.emp,
        }
    }
}

/// One `[[route]]` entry, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its position in the file's `[[route]]` list (`route[index]`, from 0).
    pub index: usize,
    /// The operations it applies to.
    pub operation: OperationMatch,
    /// The partner it applies to; `None` for `*`.
    pub partner: Option<PartnerKey>,
    /// The route it chooses.
    pub route: RouteKind,
}

impl Rule {
    /// Whether it applies to `op` with the partner whose canonical ID is `partner_canonical`.
    pub fn matches(&self, op: Operation, partner_canonical: &str) -> bool {
        self.operation.matches(op)
            && self.partner.as_ref().is_none_or(|p| {
                p.canonical() == partner_canonical && p.applies_to(partner_role(op))
            })
    }

    /// 0 (exact operation and partner) to 5 (`*` and `*`); lower is more specific.
    pub fn rank(&self) -> usize {
        let partner = if self.partner.is_some() { 0 } else { 3 };
        partner + self.operation.level()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "route[{}] (operation = \"{}\", partner = \"{}\", route = \"{}\")",
            self.index,
            self.operation,
            self.partner.as_ref().map_or("*", PartnerKey::as_str),
            self.route
        )
    }
}

/// The route for one call, and the rule that chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// The route.
    pub route: RouteKind,
    /// The index of the rule in the file's `[[route]]` list; `None` for the default.
    pub rule: Option<usize>,
}

/// `[routing]` as written in the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    /// The route when no rule matches; `direct` if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One `[[route]]` entry as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// An operation name, a group name, or `*`.
    pub operation: String,
    /// The partner's `OperatorID` or `ProviderID`, or `*` (the same as absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// `direct`, `clearing-house`, `direct-then-clearing-house` or `both`.
    pub route: String,
}

/// Just the routing keys of a configuration file; the others are not looked at.
#[derive(Debug, Deserialize)]
struct RoutingFile {
    #[serde(default)]
    routing: Option<toml::Value>,
    #[serde(default)]
    route: Option<toml::Value>,
}

/// No rule: `u32::MAX` in [`Slot::rule`].
const NO_RULE: u32 = u32::MAX;

/// The number of operations: the length of a row.
const OPS: usize = Operation::ALL.len();

/// A resolved answer: the route and the rule index ([`NO_RULE`] for the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    route: RouteKind,
    rule: u32,
}

/// The index of an operation in a row: its position in [`Operation::ALL`], which lists the
/// variants in declaration order (checked by a test).
fn op_index(op: Operation) -> usize {
    op as usize
}

/// The checked route rules, resolved for every operation and partner.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    default: RouteKind,
    default_given: bool,
    rules: Vec<Rule>,
    /// The answers for partners no rule names, one per operation.
    others: [Slot; OPS],
    /// Rows of `OPS` answers, one row per partner some rule names.
    rows: Vec<Slot>,
    /// Canonical partner ID to the start of its row in `rows`.
    partners: HashMap<Box<str>, usize>,
}

impl Default for RoutingTable {
    /// No rules; every call goes `direct`.
    fn default() -> Self {
        Self {
            default: RouteKind::Direct,
            default_given: false,
            rules: Vec::new(),
            others: [Slot {
                route: RouteKind::Direct,
                rule: NO_RULE,
            }; OPS],
            rows: Vec::new(),
            partners: HashMap::new(),
        }
    }
}

impl RoutingTable {
    /// Reads `[routing]` and `[[route]]` from configuration text, ignoring every other key;
    /// `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let err = |key: String, problem: String| ConfigError {
            file: file.to_owned(),
            key,
            problem,
        };
        let raw: RoutingFile = toml::from_str(text).map_err(|e| {
            let key = e.span().map_or_else(
                || "-".to_owned(),
                |s| format!("bytes {}..{}", s.start, s.end),
            );
            err(key, e.message().to_owned())
        })?;
        let routing = match raw.routing {
            None => RawRouting::default(),
            Some(v) => v
                .try_into::<RawRouting>()
                .map_err(|e| err("routing".into(), e.message().to_owned()))?,
        };
        let routes = match raw.route {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    v.try_into::<RawRoute>()
                        .map_err(|e| err(format!("route[{i}]"), e.message().to_owned()))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(err(
                    "route".into(),
                    "must be a list of tables, written [[route]]".into(),
                ));
            }
        };
        Self::from_raw(&routing, &routes, file)
    }

    /// Checks the raw `[routing]` and `[[route]]` entries; `file` names the file in errors.
    pub fn from_raw(
        routing: &RawRouting,
        routes: &[RawRoute],
        file: &str,
    ) -> Result<Self, ConfigError> {
        let err = |(key, problem): (String, String)| ConfigError {
            file: file.to_owned(),
            key,
            problem,
        };
        let default = match routing.default.as_deref() {
            None => RouteKind::Direct,
            Some(s) => s
                .parse()
                .map_err(|e: UnknownName| err(("routing.default".into(), e.to_string())))?,
        };
        let rules = routes
            .iter()
            .enumerate()
            .map(|(i, raw)| parse_rule(i, raw))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        Self::build(default, routing.default.is_some(), rules).map_err(err)
    }

    fn build(
        default: RouteKind,
        default_given: bool,
        rules: Vec<Rule>,
    ) -> Result<Self, (String, String)> {
        if u32::try_from(rules.len()).is_err() {
            return Err(("route".into(), "too many rules".into()));
        }
        check_duplicates(&rules)?;
        let slot = |rule: &Rule| Slot {
            route: rule.route,
            rule: u32::try_from(rule.index).unwrap_or(NO_RULE),
        };
        let fallback = Slot {
            route: default,
            rule: NO_RULE,
        };
        let wildcard: Vec<&Rule> = rules.iter().filter(|r| r.partner.is_none()).collect();
        let mut others = [fallback; OPS];
        for (i, &op) in Operation::ALL.iter().enumerate() {
            if let Some(best) =
                most_specific(wildcard.iter().copied().filter(|r| r.operation.matches(op)))
            {
                others[i] = slot(best);
            }
        }
        let mut by_partner: HashMap<&str, Vec<&Rule>> = HashMap::new();
        for rule in &rules {
            if let Some(p) = &rule.partner {
                by_partner.entry(p.canonical()).or_default().push(rule);
            }
        }
        let mut rows = Vec::with_capacity(by_partner.len() * OPS);
        let mut partners = HashMap::with_capacity(by_partner.len());
        for (canonical, named) in &by_partner {
            let start = rows.len();
            rows.extend_from_slice(&others);
            for (i, &op) in Operation::ALL.iter().enumerate() {
                if let Some(best) =
                    most_specific(named.iter().copied().filter(|r| r.matches(op, canonical)))
                {
                    rows[start + i] = slot(best);
                }
            }
            partners.insert(Box::from(*canonical), start);
        }
        let table = Self {
            default,
            default_given,
            rules,
            others,
            rows,
            partners,
        };
        table.check_shadowed()?;
        Ok(table)
    }

    /// Fails on the first rule that wins for no operation and partner: more specific rules
    /// take every operation it matches.
    fn check_shadowed(&self) -> Result<(), (String, String)> {
        let mut wins = vec![false; self.rules.len()];
        for s in self.others.iter().chain(&self.rows) {
            if let Some(w) = usize::try_from(s.rule).ok().and_then(|i| wins.get_mut(i)) {
                *w = true;
            }
        }
        let Some(rule) = self.rules.iter().find(|r| !wins[r.index]) else {
            return Ok(());
        };
        let row = self.row(rule.partner.as_ref().map(PartnerKey::canonical));
        let mut takers: Vec<(u32, Vec<&str>)> = Vec::new();
        let mut other_role: Vec<&str> = Vec::new();
        for op in rule.operation.operations() {
            if rule
                .partner
                .as_ref()
                .is_some_and(|p| !p.applies_to(partner_role(op)))
            {
                other_role.push(op.name());
                continue;
            }
            let taker = row[op_index(op)].rule;
            match takers.iter_mut().find(|(t, _)| *t == taker) {
                Some((_, ops)) => ops.push(op.name()),
                None => takers.push((taker, vec![op.name()])),
            }
        }
        let mut takers: Vec<String> = takers
            .iter()
            .map(|(t, ops)| format!("route[{t}] takes {}", ops.join(", ")))
            .collect();
        if let (Some(p), false) = (&rule.partner, other_role.is_empty()) {
            let (kind, whose) = if p.applies_to(Role::Cpo) {
                ("ProviderID", "EMPs")
            } else {
                ("OperatorID", "CPOs")
            };
            takers.push(format!(
                "'{}' is not a valid {kind}, so it does not apply to {}, which go to {whose}",
                p.as_str(),
                other_role.join(", ")
            ));
        }
        Err((
            format!("route[{}]", rule.index),
            format!(
                "rule {} can never match: more specific rules take every operation it matches ({})",
                rule.index,
                takers.join("; ")
            ),
        ))
    }

    /// The row of a partner (by canonical ID), or the row of partners no rule names.
    fn row(&self, canonical: Option<&str>) -> &[Slot] {
        canonical
            .and_then(|c| self.partners.get(c))
            .map_or(&self.others[..], |&start| &self.rows[start..start + OPS])
    }

    /// The route of `op` to `partner` (an ID of the role [`partner_role`] gives for `op`).
    pub fn resolve(&self, op: Operation, partner: &PartnerId) -> Resolution {
        self.resolve_canonical(op, &partner.canonical())
    }

    /// [`Self::resolve`] with the partner's canonical ID (`PartnerId::canonical`), for hot
    /// paths that keep it.
    pub fn resolve_canonical(&self, op: Operation, partner_canonical: &str) -> Resolution {
        let s = self.row(Some(partner_canonical))[op_index(op)];
        Resolution {
            route: s.route,
            rule: (s.rule != NO_RULE).then_some(s.rule as usize),
        }
    }

    /// The route used when no rule matches.
    pub fn default_route(&self) -> RouteKind {
        self.default
    }

    /// The rules, in file order (`rules()[i].index == i`).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Which route applies to `op` with `partner`, which rule chose it, and which other rules
    /// also match but lose, and why (several lines, for `roambridge routes explain`).
    pub fn explain(&self, op: Operation, partner: &PartnerId) -> String {
        let canonical = partner.canonical();
        let res = self.resolve_canonical(op, &canonical);
        let role = partner_role(op);
        let article = |r: Role| if r == Role::Cpo { "a CPO" } else { "an EMP" };
        let mut out = String::new();
        let group = Group::of(op).map_or_else(String::new, |g| format!(", group {g}"));
        let _ = writeln!(
            out,
            "operation: {op} ({}{group}; the partner is {})",
            op.direction(),
            article(role)
        );
        let _ = writeln!(
            out,
            "partner: {partner} ({}, matched as {canonical})",
            if partner.role() == Role::Cpo {
                "OperatorID"
            } else {
                "ProviderID"
            }
        );
        if partner.role() != role {
            let _ = writeln!(
                out,
                "warning: {op} goes to {}, but {partner} is given as {}'s ID",
                article(role),
                article(partner.role())
            );
        }
        let _ = writeln!(out, "route: {} ({})", res.route, res.route.describe());
        let default_text = if self.default_given {
            format!("[routing] default = \"{}\"", self.default)
        } else {
            format!("no [routing] default, so \"{}\"", self.default)
        };
        let winner = res.rule.and_then(|i| self.rules.get(i));
        match winner {
            Some(w) => {
                let _ = writeln!(out, "rule: {w}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "rule: none matches; the default applies ({default_text})"
                );
            }
        }
        let mut losers: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| Some(r.index) != res.rule && r.matches(op, &canonical))
            .collect();
        losers.sort_by_key(|r| r.rank());
        if let Some(w) = winner {
            if losers.is_empty() {
                let _ = writeln!(out, "no other rule matches");
            } else {
                let _ = writeln!(out, "also matching, but less specific:");
                for l in &losers {
                    let _ = writeln!(out, "  {l}: {}", why_loses(w, l));
                }
            }
            let _ = writeln!(out, "default (not used): {default_text}");
        }
        out
    }
}

/// Why `loser` loses to the more specific `winner` (both match).
fn why_loses(winner: &Rule, loser: &Rule) -> &'static str {
    if winner.partner.is_some() && loser.partner.is_none() {
        return "a rule naming the partner beats one with partner \"*\"";
    }
    match (winner.operation.level(), loser.operation.level()) {
        (0, 1) => "an exact operation beats a group",
        (0, 2) => "an exact operation beats \"*\"",
        _ => "a group beats \"*\"",
    }
}

/// The most specific of some matching rules.
fn most_specific<'a>(rules: impl Iterator<Item = &'a Rule>) -> Option<&'a Rule> {
    rules.min_by_key(|r| r.rank())
}

fn parse_rule(index: usize, raw: &RawRoute) -> Result<Rule, (String, String)> {
    let key = |k: &str| format!("route[{index}].{k}");
    let operation: OperationMatch = raw
        .operation
        .parse()
        .map_err(|e: UnknownName| (key("operation"), e.to_string()))?;
    let partner = match raw.partner.as_deref() {
        None | Some("*") => None,
        Some(id) => Some(PartnerKey::parse(id, operation).map_err(|e| (key("partner"), e))?),
    };
    let route = raw
        .route
        .parse()
        .map_err(|e: UnknownName| (key("route"), e.to_string()))?;
    Ok(Rule {
        index,
        operation,
        partner,
        route,
    })
}

/// What two rules must not share: the operation match and, per partner role, the partner.
type DuplicateKey<'a> = (OperationMatch, Option<(&'a str, Role)>);

/// Two rules with the same operation and partner (for some partner role): the later one can
/// never match, or (when it also applies to another role) it is ambiguous.
fn check_duplicates(rules: &[Rule]) -> Result<(), (String, String)> {
    let mut seen: HashMap<DuplicateKey<'_>, usize> = HashMap::new();
    for rule in rules {
        let keys: Vec<Option<(&str, Role)>> = match &rule.partner {
            None => vec![None],
            Some(p) => [Role::Cpo, Role::Emp]
                .into_iter()
                .filter(|r| p.applies_to(*r))
                .map(|r| Some((p.canonical(), r)))
                .collect(),
        };
        let earlier: Vec<(usize, Option<Role>)> = keys
            .iter()
            .filter_map(|k| {
                seen.get(&(rule.operation, *k))
                    .map(|&i| (i, k.map(|(_, r)| r)))
            })
            .collect();
        if let Some(&(first, role)) = earlier.first() {
            let partner = rule.partner.as_ref().map_or("*", PartnerKey::as_str);
            let problem = if earlier.len() == keys.len() {
                format!(
                    "rule {} can never match: rule {first} has the same operation and partner \
                     ({}, {partner})",
                    rule.index, rule.operation
                )
            } else {
                let role = role.map_or("", |r| {
                    if r == Role::Cpo {
                        " for CPOs"
                    } else {
                        " for EMPs"
                    }
                });
                format!(
                    "rule {} has the same operation and partner as rule {first} ({}, \
                     {partner}{role}): remove one or use a partner ID valid for one role only",
                    rule.index, rule.operation
                )
            };
            return Err((format!("route[{}]", rule.index), problem));
        }
        for k in keys {
            seen.insert((rule.operation, k), rule.index);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emp(id: &str) -> PartnerId {
        PartnerId::parse(Role::Emp, id).unwrap()
    }

    fn cpo(id: &str) -> PartnerId {
        PartnerId::parse(Role::Cpo, id).unwrap()
    }

    /// A file with `[[route]]` entries (operation, partner, route) and an optional default.
    fn file(default: Option<&str>, rules: &[(&str, &str, &str)]) -> String {
        let mut s = String::from("[node]\nlisten = \"127.0.0.1:0\"\n\n");
        if let Some(d) = default {
            let _ = writeln!(s, "[routing]\ndefault = \"{d}\"\n");
        }
        for (op, partner, route) in rules {
            let _ = writeln!(
                s,
                "[[route]]\noperation = \"{op}\"\npartner = \"{partner}\"\nroute = \"{route}\"\n"
            );
        }
        s
    }

    fn table(default: Option<&str>, rules: &[(&str, &str, &str)]) -> RoutingTable {
        RoutingTable::from_toml(&file(default, rules), "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(default: Option<&str>, rules: &[(&str, &str, &str)]) -> ConfigError {
        RoutingTable::from_toml(&file(default, rules), "t.toml").unwrap_err()
    }

    #[test]
    fn route_kinds_parse_print_and_serialize() {
        let names = [
            (RouteKind::Direct, "direct"),
            (RouteKind::ClearingHouse, "clearing-house"),
            (
                RouteKind::DirectThenClearingHouse,
                "direct-then-clearing-house",
            ),
            (RouteKind::Both, "both"),
        ];
        for (kind, name) in names {
            assert_eq!(name.parse::<RouteKind>().unwrap(), kind);
            assert_eq!(name.to_uppercase().parse::<RouteKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            let back: RouteKind = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, kind);
            let t = table(None, &[("*", "*", name)]);
            assert_eq!(
                t.resolve(Operation::AuthorizeStart, &emp("DE-GDF")).route,
                kind
            );
        }
        let e = "hub".parse::<RouteKind>().unwrap_err().to_string();
        assert!(
            e.contains("'hub'")
                && e.contains("direct, clearing-house, direct-then-clearing-house, both"),
            "{e}"
        );
    }

    #[test]
    fn operations_are_indexed_in_declaration_order() {
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(op_index(*op), i, "{op}");
        }
    }

    #[test]
    fn every_operation_is_in_exactly_one_group() {
        for &op in Operation::ALL {
            let containing: Vec<Group> = Group::ALL
                .into_iter()
                .filter(|g| g.operations().any(|o| o == op))
                .collect();
            assert_eq!(containing.len(), 1, "{op}: {containing:?}");
            assert_eq!(Group::of(op), Some(containing[0]), "{op}");
        }
        let expected: [(Group, &[&str]); 8] = [
            (Group::EvseData, &["PushEvseData", "PullEvseData"]),
            (
                Group::EvseStatus,
                &[
                    "PushEvseStatus",
                    "PullEvseStatus",
                    "PullEvseStatusById",
                    "PullEvseStatusByOperatorId",
                ],
            ),
            (
                Group::Authorization,
                &["AuthorizeStart", "AuthorizeStop", "PushAuthenticationData"],
            ),
            (
                Group::Remote,
                &["AuthorizeRemoteStart", "AuthorizeRemoteStop"],
            ),
            (
                Group::Reservation,
                &[
                    "AuthorizeRemoteReservationStart",
                    "AuthorizeRemoteReservationStop",
                ],
            ),
            (
                Group::Notifications,
                &[
                    "ChargingNotificationStart",
                    "ChargingNotificationProgress",
                    "ChargingNotificationEnd",
                    "ChargingNotificationError",
                ],
            ),
            (
                Group::Cdr,
                &["ChargeDetailRecord", "GetChargeDetailRecords"],
            ),
            (
                Group::Pricing,
                &[
                    "PushPricingProductData",
                    "PushEvsePricing",
                    "PullPricingProductData",
                    "PullEvsePricing",
                ],
            ),
        ];
        let mut total = 0;
        for (group, names) in expected {
            let mut got: Vec<&str> = group.operations().map(Operation::name).collect();
            let mut want = names.to_vec();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{group}");
            assert_eq!(group.as_str().parse::<Group>().unwrap(), group);
            assert_eq!(
                group.as_str().parse::<OperationMatch>().unwrap(),
                OperationMatch::Group(group)
            );
            total += names.len();
        }
        assert_eq!(total, Operation::ALL.len());
    }

    #[test]
    fn the_partner_is_the_other_side() {
        for &op in Operation::ALL {
            let expected = match op.direction() {
                Direction::CpoToHub | Direction::CpoToEmp => Role::Emp,
                Direction::EmpToHub | Direction::EmpToCpo => Role::Cpo,
            };
            assert_eq!(partner_role(op), expected, "{op}");
        }
        assert_eq!(partner_role(Operation::AuthorizeStart), Role::Emp);
        assert_eq!(partner_role(Operation::ChargeDetailRecord), Role::Emp);
        assert_eq!(partner_role(Operation::AuthorizeRemoteStart), Role::Cpo);
        assert_eq!(partner_role(Operation::PullEvseData), Role::Cpo);
    }

    #[test]
    fn operation_names_are_case_insensitive() {
        for name in ["chargedetailrecord", "eRoamingChargeDetailRecord_V2.2"] {
            assert_eq!(
                name.parse::<OperationMatch>().unwrap(),
                OperationMatch::Exact(Operation::ChargeDetailRecord)
            );
        }
        assert_eq!(
            "CDR".parse::<OperationMatch>().unwrap(),
            OperationMatch::Group(Group::Cdr)
        );
        assert_eq!("*".parse::<OperationMatch>().unwrap(), OperationMatch::Any);
    }

    /// The six levels, most specific first, for `ChargeDetailRecord` to `DE*GDF`.
    const LEVELS: [(&str, &str, &str); 6] = [
        ("ChargeDetailRecord", "DE*GDF", "both"),
        ("cdr", "DE*GDF", "clearing-house"),
        ("*", "DE*GDF", "direct-then-clearing-house"),
        ("ChargeDetailRecord", "*", "clearing-house"),
        ("cdr", "*", "both"),
        ("*", "*", "direct-then-clearing-house"),
    ];

    #[test]
    fn the_most_specific_rule_wins_at_all_six_levels() {
        let gdf = emp("DE-GDF");
        for k in 0..=LEVELS.len() {
            // Least specific first in the file, so that file order and rank differ.
            let mut rules = LEVELS[k..].to_vec();
            rules.reverse();
            let t = table(Some("direct"), &rules);
            let got = t.resolve(Operation::ChargeDetailRecord, &gdf);
            if k == LEVELS.len() {
                assert_eq!(
                    got,
                    Resolution {
                        route: RouteKind::Direct,
                        rule: None
                    }
                );
            } else {
                let want = Resolution {
                    route: LEVELS[k].2.parse().unwrap(),
                    rule: Some(rules.len() - 1),
                };
                assert_eq!(got, want, "level {k}");
                assert_eq!(t.rules()[rules.len() - 1].rank(), k);
            }
        }
        // With all six: another partner gets the best `*` rule, another operation of the
        // group the group rule, an operation outside the group the `*` rules.
        let t = table(None, &LEVELS);
        let r = |op, p: &PartnerId| t.resolve(op, p).rule;
        assert_eq!(r(Operation::ChargeDetailRecord, &emp("DE*XYZ")), Some(3));
        assert_eq!(
            r(Operation::GetChargeDetailRecords, &cpo("DE*GDF")),
            Some(1)
        );
        assert_eq!(
            r(Operation::GetChargeDetailRecords, &cpo("DE*XYZ")),
            Some(4)
        );
        assert_eq!(r(Operation::AuthorizeStart, &emp("DE-GDF")), Some(2));
        assert_eq!(r(Operation::AuthorizeStart, &emp("DE-XYZ")), Some(5));
    }

    #[test]
    fn partner_ids_match_format_insensitively() {
        let t = table(None, &[("cdr", "DE*GDF", "both")]);
        for spelling in ["DE-GDF", "DE*GDF", "degdf", "DEGDF"] {
            let got = t.resolve(Operation::ChargeDetailRecord, &emp(spelling));
            assert_eq!(
                got,
                Resolution {
                    route: RouteKind::Both,
                    rule: Some(0)
                },
                "{spelling}"
            );
        }
        assert_eq!(
            t.resolve_canonical(Operation::ChargeDetailRecord, "DEGDF")
                .rule,
            Some(0)
        );
        assert_eq!(
            t.resolve(Operation::ChargeDetailRecord, &emp("DE-GDG"))
                .rule,
            None
        );
        assert_eq!(t.rules()[0].partner.as_ref().unwrap().canonical(), "DEGDF");
    }

    #[test]
    fn a_partner_applies_to_the_roles_it_is_valid_for() {
        // DE-GDF is a ProviderID but not an OperatorID: it applies to EMP partners only.
        let t = table(None, &[("*", "DE-GDF", "both")]);
        assert_eq!(
            t.resolve(Operation::AuthorizeStart, &emp("DE*GDF")).rule,
            Some(0)
        );
        assert_eq!(
            t.resolve(Operation::AuthorizeRemoteStart, &cpo("DE*GDF"))
                .rule,
            None
        );
        // DE*GDF is both: it applies to either.
        let t = table(None, &[("*", "DE*GDF", "both")]);
        assert_eq!(
            t.resolve(Operation::AuthorizeRemoteStart, &cpo("DEGDF"))
                .rule,
            Some(0)
        );
        // A DIN OperatorID only to CPO partners.
        let t = table(None, &[("*", "+49*536", "both")]);
        assert_eq!(
            t.resolve(Operation::PullEvseData, &cpo("49*536")).rule,
            Some(0)
        );
    }

    #[test]
    fn the_default_applies_when_nothing_matches() {
        let t = RoutingTable::from_toml("", "t.toml").unwrap();
        assert_eq!(t.default_route(), RouteKind::Direct);
        assert_eq!(
            t.resolve(Operation::AuthorizeStart, &emp("DE-GDF")),
            Resolution {
                route: RouteKind::Direct,
                rule: None
            }
        );
        let t = table(Some("clearing-house"), &[("remote", "DE*GDF", "direct")]);
        assert_eq!(
            t.resolve(Operation::AuthorizeStart, &emp("DE-GDF")),
            Resolution {
                route: RouteKind::ClearingHouse,
                rule: None
            }
        );
        assert_eq!(
            t.resolve(Operation::AuthorizeRemoteStop, &cpo("DE*GDF")),
            Resolution {
                route: RouteKind::Direct,
                rule: Some(0)
            }
        );
        assert_eq!(
            RoutingTable::default()
                .resolve_canonical(Operation::PushEvseData, "X")
                .route,
            RouteKind::Direct
        );
        // Other keys of the node's file are not looked at, a partner may be left out.
        let text = "[node]\nlisten = 1\n[[peer]]\nx = 1\n[[route]]\noperation = \"cdr\"\nroute = \"both\"\n";
        let t = RoutingTable::from_toml(text, "t.toml").unwrap();
        assert_eq!(
            t.resolve(Operation::ChargeDetailRecord, &emp("AB-CDE"))
                .rule,
            Some(0)
        );
    }

    #[test]
    fn two_rules_with_the_same_operation_and_partner_are_an_error() {
        let e = error(
            None,
            &[
                ("cdr", "DE*GDF", "both"),
                ("remote", "DE*GDF", "both"),
                ("CDR", "de-gdf", "direct"),
            ],
        );
        assert_eq!((e.file.as_str(), e.key.as_str()), ("t.toml", "route[2]"));
        assert!(
            e.problem
                .contains("rule 2 can never match: rule 0 has the same operation and partner"),
            "{e}"
        );
        let e = error(None, &[("*", "*", "both"), ("*", "*", "direct")]);
        assert_eq!(e.key, "route[1]");
        // DE-GDF (EMP only) and DE*GDF (both roles) overlap for EMP partners.
        let e = error(None, &[("*", "DE-GDF", "both"), ("*", "DE*GDF", "direct")]);
        assert_eq!(e.key, "route[1]");
        assert!(e.problem.contains("for EMPs"), "{e}");
    }

    #[test]
    fn a_rule_that_can_never_match_is_an_error() {
        // Remote calls go to CPOs; DE-GDF is not an OperatorID.
        let e = error(None, &[("remote", "DE-GDF", "both")]);
        assert_eq!(e.key, "route[0].partner");
        assert!(
            e.problem.contains("can never match") && e.problem.contains("OperatorID"),
            "{e}"
        );
        // Notifications go to EMPs; a DIN ID is an OperatorID only.
        let e = error(None, &[("ChargingNotificationEnd", "+49*536", "both")]);
        assert_eq!(e.key, "route[0].partner");
        assert!(e.problem.contains("ProviderID"), "{e}");
        // Not an ID at all.
        let e = error(None, &[("*", "GDF", "both")]);
        assert_eq!(e.key, "route[0].partner");
        assert!(e.problem.starts_with("not a partner ID"), "{e}");
        // A group with an exact rule for each of its operations.
        let e = error(
            None,
            &[
                ("remote", "DE*GDF", "both"),
                ("AuthorizeRemoteStart", "DE*GDF", "direct"),
                ("AuthorizeRemoteStop", "DEGDF", "direct"),
            ],
        );
        assert_eq!(e.key, "route[0]");
        assert!(
            e.problem.contains("rule 0 can never match")
                && e.problem.contains("route[1] takes AuthorizeRemoteStart")
                && e.problem.contains("route[2] takes AuthorizeRemoteStop"),
            "{e}"
        );
        // DE-GDF is no OperatorID: of `cdr` it only covers ChargeDetailRecord (to EMPs).
        let e = error(
            None,
            &[
                ("cdr", "DE-GDF", "both"),
                ("ChargeDetailRecord", "DE*GDF", "direct"),
            ],
        );
        assert_eq!(e.key, "route[0]");
        assert!(
            e.problem.contains("route[1] takes ChargeDetailRecord")
                && e.problem
                    .contains("does not apply to GetChargeDetailRecords"),
            "{e}"
        );
        // `*` with a rule for every group.
        let mut rules = vec![("*", "*", "both")];
        rules.extend(Group::ALL.iter().map(|g| (g.as_str(), "*", "direct")));
        assert_eq!(error(None, &rules).key, "route[0]");
        // Valid partner for mixed groups: fine.
        table(
            None,
            &[("pricing", "DE-GDF", "both"), ("cdr", "+49*536", "both")],
        );
    }

    #[test]
    fn unknown_names_are_errors_naming_the_key() {
        let e = error(None, &[("PushEverything", "*", "both")]);
        assert_eq!(e.key, "route[0].operation");
        assert!(
            e.problem.contains("'PushEverything'")
                && e.problem.contains("evse-data")
                && e.problem.contains("PushEvseData"),
            "{e}"
        );
        let e = error(None, &[("cdr", "*", "both"), ("cdr", "DE*GDF", "hub")]);
        assert_eq!(e.key, "route[1].route");
        assert!(e.problem.contains("direct-then-clearing-house"), "{e}");
        let e = error(Some("peer"), &[]);
        assert_eq!(e.key, "routing.default");
        let e = RoutingTable::from_toml("[routing]\ndefualt = \"direct\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "routing");
        assert!(e.problem.contains("defualt"), "{e}");
        let e = RoutingTable::from_toml("[[route]]\noperation = \"cdr\"\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "route[0]");
        assert!(e.problem.contains("route"), "{e}");
        let e = RoutingTable::from_toml("route = 1\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "route");
        let e = RoutingTable::from_toml("[[route]\n", "t.toml").unwrap_err();
        assert!(e.key.starts_with("bytes "), "{e}");
    }

    #[test]
    fn explain_names_the_winner_and_why_the_others_lose() {
        let mut rules = LEVELS.to_vec();
        rules.reverse();
        let t = table(None, &rules);
        let text = t.explain(Operation::ChargeDetailRecord, &emp("DE-GDF"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"route: both (the peer and the clearing house; the caller gets the peer's answer, the clearing house copy is the proof)"), "{text}");
        assert!(
            lines.contains(
                &"rule: route[5] (operation = \"ChargeDetailRecord\", partner = \"DE*GDF\", route = \"both\")"
            ),
            "{text}"
        );
        assert!(text.contains("  route[4] (operation = \"cdr\", partner = \"DE*GDF\", route = \"clearing-house\"): an exact operation beats a group"), "{text}");
        assert!(text.contains("  route[3] (operation = \"*\", partner = \"DE*GDF\", route = \"direct-then-clearing-house\"): an exact operation beats \"*\""), "{text}");
        assert!(text.contains("  route[2] (operation = \"ChargeDetailRecord\", partner = \"*\", route = \"clearing-house\"): a rule naming the partner beats one with partner \"*\""), "{text}");
        assert!(
            text.contains("default (not used): no [routing] default, so \"direct\""),
            "{text}"
        );
        // Losers are listed most specific first.
        let pos = |s: &str| text.find(s).unwrap();
        assert!(pos("  route[4]") < pos("  route[3]") && pos("  route[3]") < pos("  route[2]"));
        assert!(pos("  route[2]") < pos("  route[1]") && pos("  route[1]") < pos("  route[0]"));
        let t = table(Some("clearing-house"), &[("remote", "*", "direct")]);
        let text = t.explain(Operation::AuthorizeStart, &emp("DE-GDF"));
        assert!(text.contains("route: clearing-house"), "{text}");
        assert!(
            text.contains(
                "rule: none matches; the default applies ([routing] default = \"clearing-house\")"
            ),
            "{text}"
        );
        let text = t.explain(Operation::AuthorizeRemoteStart, &cpo("DE*GDF"));
        assert!(text.contains("no other rule matches"), "{text}");
    }
}
