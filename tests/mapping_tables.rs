//! Exhaustiveness of the mapping value tables (style.md §3.2 item 12): every spec value of
//! both sides of every table is mapped or listed as unmappable, and the tables load.

use roambridge::mapping::tables::{Entry, PairTable, SOURCES, TableValue, Tables, tables};
use roambridge::ocpi::v221::locations::{ConnectorFormat, ConnectorType};
use roambridge::oicp::v23::evse_data::Plug;

/// Every value of `O` and of `P` that `table` does not list, as `KIND 'value' (direction)`.
fn gaps<O: TableValue, P: TableValue>(name: &str, table: &PairTable<O, P>) -> Vec<String> {
    let mut out = Vec::new();
    for v in O::all() {
        if !table.to_ocpi(v).is_listed() {
            out.push(format!("{name}: {} '{}' -> OCPI", O::KIND, v.wire()));
        }
    }
    for v in P::all() {
        if !table.to_oicp(v).is_listed() {
            out.push(format!("{name}: {} '{}' -> OICP", P::KIND, v.wire()));
        }
    }
    out
}

/// Every mapped row's reasons are non-empty and cite the mapping doc.
fn rows_are_documented<O: TableValue, P: TableValue>(name: &str, table: &PairTable<O, P>) {
    for v in O::all() {
        check_entry(name, v.wire(), &table.to_ocpi(v));
    }
    for v in P::all() {
        check_entry(name, v.wire(), &table.to_oicp(v));
    }
}

fn check_entry<T>(name: &str, value: &str, entry: &Entry<'_, T>) {
    match entry {
        Entry::Mapped(t) => {
            assert!(t.source.contains('§'), "{name} {value}: {}", t.source);
            assert!(
                t.loss.as_deref().is_none_or(|l| !l.trim().is_empty()),
                "{name} {value}"
            );
        }
        Entry::Unmappable(u) => {
            assert!(u.source.contains('§'), "{name} {value}: {}", u.source);
            assert!(!u.reason.trim().is_empty(), "{name} {value}");
        }
        Entry::NotListed => panic!("{name}: '{value}' not listed"),
    }
}

#[test]
fn tables_load() {
    if let Err(e) = Tables::load() {
        panic!("{e}");
    }
    assert_eq!(SOURCES.len(), 6);
    for (file, text) in SOURCES {
        let path = std::path::Path::new(file);
        assert!(path.starts_with("mappings"), "{file}");
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("toml"));
        assert!(!text.trim().is_empty(), "{file}");
    }
}

#[test]
fn every_enum_value_is_mapped_or_listed_unmappable() {
    let t = tables().unwrap();
    let mut all = Vec::new();
    all.extend(gaps("evse_status", &t.evse_status));
    all.extend(gaps("power_types", &t.power_types));
    all.extend(gaps("authentication_modes", &t.authentication_modes));
    all.extend(gaps("payment_options", &t.payment_options));
    all.extend(gaps("accessibility", &t.accessibility));
    all.extend(gaps("accessibility_location", &t.accessibility_location));
    all.extend(gaps("identification", &t.identification));
    all.extend(gaps("rfid_types", &t.rfid_types));
    all.extend(gaps("auth_methods", &t.auth_methods));

    for plug in Plug::ALL {
        if !t.plugs.to_ocpi(plug).is_listed() {
            all.push(format!("plugs: OICP Plug '{plug}' -> OCPI"));
        }
    }
    for standard in ConnectorType::ALL {
        for format in ConnectorFormat::ALL {
            if !t.plugs.to_oicp(standard, format).is_listed() {
                all.push(format!("plugs: OCPI '{standard}' {format} -> OICP"));
            }
        }
    }
    assert!(all.is_empty(), "not covered:\n{}", all.join("\n"));
}

#[test]
fn every_row_cites_the_mapping_doc() {
    let t = tables().unwrap();
    rows_are_documented("evse_status", &t.evse_status);
    rows_are_documented("power_types", &t.power_types);
    rows_are_documented("authentication_modes", &t.authentication_modes);
    rows_are_documented("payment_options", &t.payment_options);
    rows_are_documented("accessibility", &t.accessibility);
    rows_are_documented("accessibility_location", &t.accessibility_location);
    rows_are_documented("identification", &t.identification);
    rows_are_documented("rfid_types", &t.rfid_types);
    rows_are_documented("auth_methods", &t.auth_methods);
    for plug in Plug::ALL {
        check_entry("plugs", plug.as_str(), &t.plugs.to_ocpi(plug));
    }
    for standard in ConnectorType::ALL {
        for format in ConnectorFormat::ALL {
            check_entry(
                "plugs",
                standard.as_str(),
                &t.plugs.to_oicp(standard, format),
            );
        }
    }
}

#[test]
fn every_connector_format_is_reachable_from_oicp() {
    let t = tables().unwrap();
    for format in ConnectorFormat::ALL {
        let reached = Plug::ALL.iter().any(|plug| {
            matches!(t.plugs.to_ocpi(plug), Entry::Mapped(spec) if spec.value.format == *format)
        });
        assert!(reached, "no OICP plug yields {format}");
    }
}
